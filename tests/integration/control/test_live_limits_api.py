"""GET /api/rate-limits and GET /api/sessions: what the edges consumed and pinned, read back from Redis."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.limits import DAY_MS, MINUTE_MS
from shared.kv.concurrency import Semaphore
from shared.kv.ratelimit import Rate, RateLimiter, admitted
from shared.kv.sessions import Sessions
from tests.integration.control.live_support import by, run
from tests.integration.control.routing_support import assert_names_field, make_connection


async def make_key(admin: AsyncTestClient, name: str, **limits: int) -> str:
    response = await admin.post("/api/keys", json={"name": name, **limits})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def consume(redis: Redis, name: str, rate: Rate, cost: int = 1) -> None:
    """As the edge's admission does, under the limiter name the edge uses."""
    decisions = await run(redis, lambda batch: RateLimiter(redis).consume(batch, [(name, rate, cost)]))
    assert admitted(decisions)


async def rate_limits(admin: AsyncTestClient) -> dict[str, Any]:
    response = await admin.get("/api/rate-limits")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def limits_by_kind(entry: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(limit["unit"], limit["window"]): limit for limit in entry["limits"]}


async def test_key_limits_show_what_is_left(admin: AsyncTestClient, redis: Redis) -> None:
    limited = await make_key(admin, "limited", maxRequestsPerMinute=5, maxTokensPerMinute=1000)
    await make_key(admin, "unlimited")
    revoked = await make_key(admin, "revoked", maxRequestsPerMinute=9)
    assert (await admin.delete(f"/api/keys/{revoked}")).status_code == 200

    answer = await rate_limits(admin)
    assert (answer["enabled"], answer["fallbackDivisor"]) == (True, 2)
    assert [key["id"] for key in answer["keys"]] == [limited]  # no limits, or revoked: nothing to show
    assert answer["keys"][0]["name"] == "limited"
    fresh = limits_by_kind(answer["keys"][0])
    assert fresh[("requests", "minute")] == {
        "unit": "requests",
        "window": "minute",
        "limit": 5,
        "remaining": 5,
        "resetMs": 0,
    }
    assert fresh[("tokens", "minute")]["remaining"] == 1000

    await consume(redis, "k:{" + limited + "}:rpm", Rate(5, MINUTE_MS))
    await consume(redis, "k:{" + limited + "}:rpm", Rate(5, MINUTE_MS))
    await consume(redis, "k:{" + limited + "}:tpm", Rate(1000, MINUTE_MS), cost=250)
    used = limits_by_kind((await rate_limits(admin))["keys"][0])
    assert used[("requests", "minute")]["remaining"] == 3
    assert 0 < used[("requests", "minute")]["resetMs"] <= 2 * MINUTE_MS // 5
    assert used[("tokens", "minute")]["remaining"] == 750
    again = limits_by_kind((await rate_limits(admin))["keys"][0])  # peeking consumed nothing
    assert {kind: limit["remaining"] for kind, limit in again.items()} == {
        ("requests", "minute"): 3,
        ("tokens", "minute"): 750,
    }


async def test_key_defaults_apply_to_keys_without_their_own(admin: AsyncTestClient, redis: Redis) -> None:
    own = await make_key(admin, "own", maxRequestsPerMinute=5)
    plain = await make_key(admin, "plain")
    changed = await admin.put(
        "/api/rate-limit",
        json={"enabled": False, "fallbackDivisor": 4, "keyDefaults": {"requestsPerMinute": 60, "requestsPerDay": 500}},
    )
    assert changed.status_code == 200, changed.text
    await consume(redis, "k:{" + plain + "}:rpd", Rate(500, DAY_MS))

    answer = await rate_limits(admin)
    assert (answer["enabled"], answer["fallbackDivisor"]) == (False, 4)
    keys = by(answer["keys"], "id")
    assert set(keys) == {own, plain}
    own_limits = limits_by_kind(keys[own])
    assert own_limits[("requests", "minute")]["limit"] == 5  # the key's own limit wins
    assert own_limits[("requests", "day")]["limit"] == 500
    plain_limits = limits_by_kind(keys[plain])
    assert set(plain_limits) == {("requests", "minute"), ("requests", "day")}
    assert plain_limits[("requests", "minute")]["limit"] == 60
    assert plain_limits[("requests", "day")]["remaining"] == 499


async def test_connection_limits_and_seats_in_use(admin: AsyncTestClient, redis: Redis) -> None:
    limited = await make_connection(admin, "openai", maxRequestsPerMinute=10, maxTokensPerMinute=5000, maxConcurrent=2)
    seats_only = await make_connection(admin, "anthropic", maxConcurrent=3)
    await make_connection(admin, "groq", name="groq-free")  # no limits: absent
    await make_connection(admin, "mistral", name="off", maxRequestsPerMinute=10, isActive=False)  # unused: absent

    await consume(redis, "c:{" + limited + "}:rpm", Rate(10, MINUTE_MS))
    seat = "c:{" + limited + "}:concurrent"
    assert await run(redis, lambda batch: Semaphore(redis).acquire(batch, seat, 2, "edge-1:req-1", 60_000))

    connections = by((await rate_limits(admin))["connections"], "id")
    assert set(connections) == {limited, seats_only}
    entry = connections[limited]
    assert (entry["name"], entry["provider"]) == ("openai-main", "openai")
    assert entry["concurrent"] == {"limit": 2, "inUse": 1}
    kinds = limits_by_kind(entry)
    assert set(kinds) == {("requests", "minute"), ("tokens", "minute")}
    assert kinds[("requests", "minute")]["remaining"] == 9
    assert kinds[("tokens", "minute")]["remaining"] == 5000
    assert connections[seats_only]["limits"] == []
    assert connections[seats_only]["concurrent"] == {"limit": 3, "inUse": 0}


async def test_sessions_list_pins_with_connection_names(admin: AsyncTestClient, redis: Redis) -> None:
    assert (await admin.get("/api/sessions")).json() == {"sessions": [], "count": 0}
    connection = await make_connection(admin, "openai")
    sessions = Sessions(redis)
    await run(redis, lambda batch: sessions.pin(batch, "key-a:chat-1", connection, 60_000))
    await run(redis, lambda batch: sessions.pin(batch, "key-a:chat-2", connection, 30_000))
    await run(
        redis, lambda batch: sessions.pin(batch, "anonymous:fp-0123", "5f0c1b52-0000-4000-8000-000000000000", 60_000)
    )

    answer = (await admin.get("/api/sessions")).json()
    assert answer["count"] == 3
    pinned = by(answer["sessions"], "session")
    assert set(pinned) == {"key-a:chat-1", "key-a:chat-2", "anonymous:fp-0123"}
    assert pinned["key-a:chat-1"]["connectionId"] == connection
    assert pinned["key-a:chat-1"]["connectionName"] == "openai-main"
    assert 0 < pinned["key-a:chat-2"]["ttlMs"] <= 30_000
    assert pinned["anonymous:fp-0123"]["connectionName"] is None  # that connection is gone

    capped = (await admin.get("/api/sessions?limit=2")).json()
    assert capped["count"] == len(capped["sessions"]) == 2
    await run(redis, lambda batch: sessions.forget(batch, "key-a:chat-1"))
    assert (await admin.get("/api/sessions?limit=1000")).json()["count"] == 2


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "limit=-5", "limit=2.5"])
async def test_bad_session_limits_name_the_parameter(admin: AsyncTestClient, query: str) -> None:
    assert_names_field(await admin.get(f"/api/sessions?{query}"), "limit")
