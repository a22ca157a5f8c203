"""Routing through one in-process edge, on real Redis: combo strategies (the round-robin counter is
the fleet's, in Redis), policies (deny in the caller's dialect, preferred providers, max_tokens
caps) and sessions pinned to the connection that answered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shared.config.snapshot import ComboConfig, ComboStep, PolicyConfig
from shared.kv import keys
from tests.integration.edge.dispatch_support import (
    CHAT,
    CLIENT_ID,
    CONN_A,
    CONN_B,
    KEY_A,
    KEY_B,
    LIMITED_ID,
    LIMITED_KEY,
    MESSAGES,
    Fake,
    auth,
    chat,
    edge_for,
    eventually_async,
    fingerprint,
    fresh_redis,
    snapshot,
)

GROQ_MODEL = "groq/llama-3.1-8b-instant"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    async with fresh_redis() as client:
        yield client


@pytest.fixture
async def fake(fake_upstream: str) -> AsyncIterator[Fake]:
    control = Fake(fake_upstream)
    await control.reset()
    yield control
    await control.reset()
    await control.close()


@pytest.fixture
def base(fake_upstream: str) -> str:
    return f"{fake_upstream}/v1"


def pinned_combo(name: str, strategy: str) -> ComboConfig:
    """B's step first, then A's: the combo's order, not the connections' priorities, decides."""
    return ComboConfig(
        id=f"id-{name}",
        name=name,
        strategy=strategy,
        steps=(
            ComboStep(model="openai/gpt-4o-mini", connection_id=CONN_B),
            ComboStep(model="openai/gpt-4o", connection_id=CONN_A),
        ),
    )


async def test_a_priority_combo_tries_its_steps_in_order(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, combos=(pinned_combo("chain", "priority"),))
    async with edge_for(redis, config) as edge:
        first = await edge.post(CHAT, json=chat("in order", model="chain"), headers=auth())
        assert first.status_code == 200, first.text
        assert first.headers["x-omniroute-model"] == "gpt-4o-mini"
        await fake.script({"status": 503}, key=KEY_B)
        moved = await edge.post(CHAT, json=chat("first step fails", model="chain"), headers=auth())
    assert moved.status_code == 200, moved.text
    assert moved.headers["x-omniroute-model"] == "gpt-4o"
    assert moved.headers["x-omniroute-fallback-attempts"] == "1"
    assert [(e["key"], e["model"], e["status"]) for e in await fake.ledger()] == [
        (fingerprint(KEY_B), "gpt-4o-mini", 200),
        (fingerprint(KEY_B), "gpt-4o-mini", 503),
        (fingerprint(KEY_A), "gpt-4o", 200),
    ]


async def test_a_round_robin_combo_alternates_with_the_fleets_counter(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, combos=(pinned_combo("rr", "round-robin"),))
    counter = keys.routing_counter("combo:rr")
    async with edge_for(redis, config) as edge:
        served = []
        for n in range(4):
            response = await edge.post(CHAT, json=chat(f"turn {n}", model="rr"), headers=auth())
            assert response.status_code == 200
            served.append(response.headers["x-omniroute-model"])
        assert served == ["gpt-4o-mini", "gpt-4o", "gpt-4o-mini", "gpt-4o"]
        assert await redis.get(counter) == b"4"
        # another edge took turn 5: this one goes on from the shared count, with turn 6
        await redis.set(counter, 5)
        sixth = await edge.post(CHAT, json=chat("turn 6", model="rr"), headers=auth())
    assert sixth.headers["x-omniroute-model"] == "gpt-4o"
    assert await redis.get(counter) == b"6"


async def test_a_round_robin_combo_still_falls_back_to_the_other_member(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, combos=(pinned_combo("rr", "round-robin"),))
    await fake.script({"status": 500}, key=KEY_B)
    async with edge_for(redis, config) as edge:
        response = await edge.post(CHAT, json=chat("B's turn, B fails", model="rr"), headers=auth())
    assert response.status_code == 200
    assert response.headers["x-omniroute-model"] == "gpt-4o"
    assert await fake.calls() == [("B", 500), ("A", 200)]


async def test_a_deny_policy_is_a_403_in_the_callers_dialect(redis: Redis, fake: Fake, base: str) -> None:
    deny = PolicyConfig(id="p-deny", name="no-gpt-4o", models=("openai/gpt-4o",), effect="deny")
    async with edge_for(redis, snapshot(base, policies=(deny,))) as edge:
        openai = await edge.post(CHAT, json=chat("denied", model="openai/gpt-4o"), headers=auth())
        anthropic = await edge.post(
            MESSAGES,
            json={"model": "openai/gpt-4o", "max_tokens": 50, "messages": [{"role": "user", "content": "denied"}]},
            headers={"x-api-key": LIMITED_KEY, "anthropic-version": "2023-06-01"},
        )
        allowed = await edge.post(CHAT, json=chat("allowed", model="openai/gpt-4o-mini"), headers=auth())
    assert openai.status_code == 403
    error = openai.json()["error"]
    assert error["code"] == "policy_denied"
    assert error["type"] == "permission_error"
    assert "no-gpt-4o" in error["message"]
    assert anthropic.status_code == 403
    body = anthropic.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "permission_error"
    assert "no-gpt-4o" in body["error"]["message"]
    assert allowed.status_code == 200
    assert await fake.calls() == [("A", 200)]  # nothing denied was sent


async def test_a_deny_policy_for_one_key_leaves_the_others(redis: Redis, fake: Fake, base: str) -> None:
    deny = PolicyConfig(id="p-deny", name="limited-key-off", key_ids=(LIMITED_ID,), effect="deny")
    async with edge_for(redis, snapshot(base, policies=(deny,))) as edge:
        denied = await edge.post(CHAT, json=chat("me?"), headers=auth(LIMITED_KEY))
        allowed = await edge.post(CHAT, json=chat("me?"), headers=auth())
    assert denied.status_code == 403
    assert allowed.status_code == 200


async def test_preferred_providers_go_first_for_the_keys_the_policy_names(redis: Redis, fake: Fake, base: str) -> None:
    both = ComboConfig(
        id="c-both",
        name="both",
        strategy="priority",
        steps=(ComboStep(model="openai/gpt-4o-mini"), ComboStep(model=GROQ_MODEL)),
    )
    prefer = PolicyConfig(id="p-groq", name="groq-first", key_ids=(LIMITED_ID,), prefer_providers=("groq",))
    config = snapshot(base, connections=("A", "G"), combos=(both,), policies=(prefer,))
    async with edge_for(redis, config) as edge:
        preferred = await edge.post(CHAT, json=chat("prefer groq", model="both"), headers=auth(LIMITED_KEY))
        plain = await edge.post(CHAT, json=chat("combo order", model="both"), headers=auth())
    assert preferred.status_code == plain.status_code == 200
    assert preferred.headers["x-omniroute-provider"] == "groq"
    assert plain.headers["x-omniroute-provider"] == "openai"
    assert await fake.calls() == [("G", 200), ("A", 200)]


async def test_a_max_tokens_cap_reaches_the_upstream(redis: Redis, fake: Fake, base: str) -> None:
    cap = PolicyConfig(id="p-cap", name="short", models=("openai/*",), max_tokens=2)
    async with edge_for(redis, snapshot(base, policies=(cap,))) as edge:
        capped = await edge.post(CHAT, json=chat("a long answer please", max_tokens=500), headers=auth())
        lower = await edge.post(CHAT, json=chat("even shorter", max_tokens=1), headers=auth())
    assert capped.status_code == 200, capped.text
    choice = capped.json()["choices"][0]
    assert choice["message"]["content"] == "Hello! You"  # the fake cut its answer to 2 words
    assert choice["finish_reason"] == "length"
    assert lower.json()["choices"][0]["message"]["content"] == "Hello!"  # a lower ask is kept


async def test_a_named_session_stays_on_its_connection_until_that_connection_cools(
    redis: Redis, fake: Fake, base: str
) -> None:
    """Connections rotate round-robin; a session sticks to the connection that first answered it."""
    config = snapshot(base, resilience={"connectionStrategy": "round-robin"})
    rotation = keys.routing_counter("conn:openai")
    pin = keys.session(f"{CLIENT_ID}:conversation-1")
    session = {**auth(), "X-Session-Id": "conversation-1"}
    async with edge_for(redis, config) as edge:
        first = await edge.post(CHAT, json=chat("turn 1"), headers=session)
        assert first.status_code == 200
        assert first.headers["x-omniroute-session-id"] == "conversation-1"
        await eventually_async(lambda: _equals(redis, pin, CONN_A))
        second = await edge.post(CHAT, json=chat("turn 2"), headers=session)  # the rotation says B
        other = await edge.post(CHAT, json=chat("another conversation"), headers=auth())  # rotation: A
        fourth = await edge.post(CHAT, json=chat("unrelated"), headers=auth())  # rotation: B
        assert [second.status_code, other.status_code, fourth.status_code] == [200, 200, 200]
        assert await fake.calls() == [("A", 200), ("A", 200), ("A", 200), ("B", 200)]

        await fake.script({"status": 429, "retry_after": 0.5}, key=KEY_A, times=1)
        moved = await edge.post(CHAT, json=chat("turn 3"), headers=session)
        assert moved.status_code == 200
        assert moved.headers["x-omniroute-fallback-attempts"] == "1"
        await eventually_async(lambda: _equals(redis, pin, CONN_B))  # the session follows the answer
        await eventually_async(lambda: _gone(redis, keys.cooldown(CONN_A)))
        await redis.set(rotation, 0)  # the next turn's rotation starts with A again
        stays = await edge.post(CHAT, json=chat("turn 4"), headers=session)
    assert stays.status_code == 200
    assert stays.headers["x-omniroute-session-id"] == "conversation-1"
    assert (await fake.calls())[4:] == [("A", 429), ("B", 200), ("B", 200)]


async def test_the_implicit_session_is_a_fingerprint_of_the_conversation(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, resilience={"connectionStrategy": "round-robin"})
    async with edge_for(redis, config) as edge:
        first = await edge.post(CHAT, json=chat("same start"), headers=auth())
        fingerprint = first.headers["x-omniroute-session-id"]
        assert fingerprint.startswith("fp-")
        await eventually_async(lambda: _equals(redis, keys.session(f"{CLIENT_ID}:{fingerprint}"), CONN_A))
        follow_up = {
            "model": "openai/gpt-4o-mini",
            "messages": [
                {"role": "user", "content": "same start"},
                {"role": "assistant", "content": "Hello! You said: same start"},
                {"role": "user", "content": "and more"},
            ],
        }
        second = await edge.post(CHAT, json=follow_up, headers=auth())
    assert second.headers["x-omniroute-session-id"] == fingerprint
    assert await fake.calls() == [("A", 200), ("A", 200)]  # the rotation alone would have said B


async def test_one_connection_means_no_session_unless_the_caller_names_one(redis: Redis, fake: Fake, base: str) -> None:
    async with edge_for(redis, snapshot(base, connections=("A",))) as edge:
        implicit = await edge.post(CHAT, json=chat("no choice"), headers=auth())
        named = await edge.post(CHAT, json=chat("named"), headers={**auth(), "X-Session-Id": "mine"})
        invalid = await edge.post(CHAT, json=chat("bad"), headers={**auth(), "X-Session-Id": "x" * 201})
    assert "x-omniroute-session-id" not in implicit.headers
    assert named.headers["x-omniroute-session-id"] == "mine"
    assert invalid.status_code == 400
    assert invalid.json()["error"]["param"] == "X-Session-Id"
    assert [key async for key in redis.scan_iter(match=keys.SESSION_PREFIX + "*")] == []


async def test_sessions_are_scoped_to_the_api_key(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, resilience={"connectionStrategy": "round-robin"})
    async with edge_for(redis, config) as edge:
        await edge.post(CHAT, json=chat("one"), headers={**auth(), "X-Session-Id": "shared-name"})
        await eventually_async(lambda: _equals(redis, keys.session(f"{CLIENT_ID}:shared-name"), CONN_A))
        other = await edge.post(CHAT, json=chat("two"), headers={**auth(LIMITED_KEY), "X-Session-Id": "shared-name"})
    assert other.status_code == 200
    assert await fake.calls() == [("A", 200), ("B", 200)]  # not the other key's pin
    await eventually_async(lambda: _equals(redis, keys.session(f"{LIMITED_ID}:shared-name"), CONN_B))


async def _equals(redis: Redis, key: str, value: str) -> bool:
    stored: bytes | None = await redis.get(key)
    return stored == value.encode()


async def _gone(redis: Redis, key: str) -> bool:
    return not await redis.exists(key)
