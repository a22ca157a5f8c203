"""GET /api/resilience's live `state` and POST /api/resilience/reset, against real Postgres and Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared import jsonx
from shared.kv import keys
from shared.kv.breaker import Breaker, BreakerPolicy
from tests.integration.control.live_support import breaker_view, by, cool, cooling, run, trip
from tests.integration.control.routing_support import assert_names_field, make_connection, make_node


async def state_of(admin: AsyncTestClient) -> dict[str, Any]:
    answer = await admin.get("/api/resilience")
    assert answer.status_code == 200, answer.text
    assert "settings" in answer.json()
    state: dict[str, Any] = answer.json()["state"]
    return state


async def reset(admin: AsyncTestClient, body: Any = None) -> dict[str, Any]:
    response = (
        await admin.post("/api/resilience/reset", json=body)
        if body is not None
        else await admin.post("/api/resilience/reset")
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def reset_audits(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM audit_log WHERE action = 'resilience.reset' ORDER BY id"))


async def test_state_shows_breakers_and_cooldowns_with_connection_names(admin: AsyncTestClient, redis: Redis) -> None:
    assert await state_of(admin) == {"breakers": [], "cooldowns": []}
    first = await make_connection(admin, "openai")
    node = await make_node(admin, "mycorp")
    gone = str(uuid.uuid4())  # cooled by an edge, deleted from Postgres since
    await trip(redis, "openai", times=3)
    await trip(redis, "anthropic", times=1)
    assert await cool(redis, first) == 3000
    await cool(redis, node, retry_after_ms=60_000)
    await cool(redis, gone, retry_after_ms=45_000)

    state = await state_of(admin)
    breakers = by(state["breakers"], "provider")
    assert set(breakers) == {"openai", "anthropic"}
    assert breakers["openai"]["state"] == "open"
    assert breakers["openai"]["failures"] == 3
    assert 0 < breakers["openai"]["retryInMs"] <= 30_000
    assert breakers["anthropic"] == {"provider": "anthropic", "state": "closed", "failures": 1, "retryInMs": 0}
    cooldowns = by(state["cooldowns"], "connectionId")
    assert set(cooldowns) == {first, node, gone}
    assert cooldowns[first]["connectionName"] == "openai-main"
    assert cooldowns[first]["provider"] == "openai"
    assert cooldowns[first]["level"] == 1  # no hint: the escalating base period
    assert 0 < cooldowns[first]["remainingMs"] <= 3000
    assert (cooldowns[node]["connectionName"], cooldowns[node]["provider"]) == ("Corp gateway", "mycorp")
    assert cooldowns[node]["level"] == 0  # an upstream hint leaves the level alone
    assert 45_000 < cooldowns[node]["remainingMs"] <= 60_000
    assert cooldowns[gone]["connectionName"] is None
    assert cooldowns[gone]["provider"] is None
    assert 0 < cooldowns[gone]["remainingMs"] <= 45_000


async def test_half_open_breaker_reads_as_half_open(admin: AsyncTestClient, redis: Redis) -> None:
    await trip(redis, "groq", times=3, reset_ms=1)
    await asyncio.sleep(0.01)  # due: the next caller takes the fleet's one probe
    view = await run(redis, lambda batch: Breaker(redis).acquire(batch, "groq", BreakerPolicy()))
    assert view.probe
    [entry] = (await state_of(admin))["breakers"]
    assert entry["provider"] == "groq"
    assert entry["state"] == "half_open"
    assert 0 < entry["retryInMs"] <= 30_000  # until the taken probe lease lapses


async def test_reset_one_connection_then_a_provider_then_everything(
    admin: AsyncTestClient, redis: Redis, pool: asyncpg.Pool
) -> None:
    first = await make_connection(admin, "openai")
    second = await make_connection(admin, "openai", name="openai-backup")
    claude = await make_connection(admin, "anthropic")
    await trip(redis, "openai")
    await trip(redis, "anthropic")
    for connection in (first, second, claude):
        await cool(redis, connection)

    answer = await reset(admin, {"connectionId": first.upper()})  # ids are compared canonical
    assert answer == {
        "scope": "connection",
        "provider": None,
        "connectionId": first,
        "breakers": [],
        "cooldowns": [first],
    }
    assert set(await cooling(redis, first, second, claude)) == {second, claude}
    assert await redis.exists(keys.cooldown_level(first)) == 0  # the escalation starts over
    assert (await breaker_view(redis, "openai")).state == "open"

    # a provider: its breaker and the cooldowns of its connections (the alias names the same provider)
    answer = await reset(admin, {"provider": "OAI"})
    assert answer == {
        "scope": "provider",
        "provider": "openai",
        "connectionId": None,
        "breakers": ["openai"],
        "cooldowns": [second],
    }
    assert (await breaker_view(redis, "openai")).state == "closed"
    assert (await breaker_view(redis, "openai")).failures == 0
    assert set(await cooling(redis, first, second, claude)) == {claude}
    assert (await breaker_view(redis, "anthropic")).state == "open"

    stray = str(uuid.uuid4())
    await cool(redis, stray, retry_after_ms=10_000)
    answer = await reset(admin)  # no body: everything
    assert answer["scope"] == "all"
    assert answer["breakers"] == ["anthropic"]
    assert sorted(answer["cooldowns"]) == sorted([claude, stray])
    assert await state_of(admin) == {"breakers": [], "cooldowns": []}
    assert await redis.keys(keys.BREAKER_PREFIX + "*") == []
    assert await redis.keys(keys.COOLDOWN_PREFIX + "*") == []

    # idempotent: nothing left, nothing reset, still answered and audited
    assert await reset(admin, {}) == {
        "scope": "all",
        "provider": None,
        "connectionId": None,
        "breakers": [],
        "cooldowns": [],
    }
    assert (await reset(admin, {"provider": "nosuchprovider"}))["breakers"] == []
    assert (await reset(admin, {"connectionId": str(uuid.uuid4())}))["cooldowns"] == []

    rows = await reset_audits(pool)
    assert len(rows) == 6
    assert [row["target_id"] for row in rows[:3]] == [first, "openai", "all"]
    assert {row["target_type"] for row in rows} == {"resilience"}
    assert {row["actor"] for row in rows} == {"admin"}
    assert jsonx.loads(rows[1]["after"]) == {
        "scope": "provider",
        "provider": "openai",
        "connectionId": None,
        "breakers": ["openai"],
        "cooldowns": [second],
    }


async def test_reset_of_a_node_provider_clears_the_node(admin: AsyncTestClient, redis: Redis) -> None:
    node = await make_node(admin, "mycorp")
    await trip(redis, "mycorp")
    await cool(redis, node)
    answer = await reset(admin, {"provider": "mycorp"})
    assert (answer["breakers"], answer["cooldowns"]) == (["mycorp"], [node])
    assert await state_of(admin) == {"breakers": [], "cooldowns": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": ""}, "provider"),
        ({"provider": "open ai"}, "provider"),
        ({"provider": "{openai}"}, "provider"),
        ({"provider": 5}, "provider"),
        ({"connectionId": "not-a-uuid"}, "connectionId"),
        ({"connectionId": 7}, "connectionId"),
        ({"provider": "openai", "connectionId": "00000000-0000-0000-0000-000000000000"}, "connectionId"),
        ({"connectionid": "00000000-0000-0000-0000-000000000000"}, "connectionid"),
    ],
)
async def test_malformed_reset_bodies_name_the_field_and_change_nothing(
    admin: AsyncTestClient, redis: Redis, pool: asyncpg.Pool, body: dict[str, Any], field: str
) -> None:
    await trip(redis, "openai")
    assert_names_field(await admin.post("/api/resilience/reset", json=body), field)
    assert (await breaker_view(redis, "openai")).state == "open"
    assert await reset_audits(pool) == []


async def test_non_object_reset_bodies_are_refused(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    assert (await admin.post("/api/resilience/reset", json=["openai"])).status_code == 400
    broken = await admin.post("/api/resilience/reset", content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert await reset_audits(pool) == []
