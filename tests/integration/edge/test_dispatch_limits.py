"""Limits through one in-process edge, on real Redis: an API key's limits (refused at admission with
OpenAI-style headers) and a connection's own limits (the request moves to the next connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shared.config.limits import DAY_MS, MINUTE_MS
from shared.kv import keys
from shared.kv.batch import RedisBatch
from shared.kv.ratelimit import Rate, RateLimiter
from tests.integration.edge.dispatch_support import (
    CHAT,
    CLIENT_ID,
    CONN_A,
    KEY_A,
    LIMITED_KEY,
    Fake,
    auth,
    chat,
    edge_for,
    eventually_async,
    fresh_redis,
    post_concurrently,
    snapshot,
)


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


async def test_a_keys_rpm_limit_is_refused_with_retry_and_rate_limit_headers(
    redis: Redis, fake: Fake, base: str
) -> None:
    async with edge_for(redis, snapshot(base, limited_rpm=2)) as edge:
        first = await edge.post(CHAT, json=chat("one"), headers=auth(LIMITED_KEY))
        second = await edge.post(CHAT, json=chat("two"), headers=auth(LIMITED_KEY))
        refused = await edge.post(CHAT, json=chat("three"), headers=auth(LIMITED_KEY))
        other_key = await edge.post(CHAT, json=chat("another key"), headers=auth())
    assert first.status_code == second.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.headers["x-ratelimit-reset-requests"].endswith("s")  # e.g. "59.99s"
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == "rate_limit_error"
    assert "2 requests per minute" in error["message"]
    # GCRA, 2 per minute: one request comes back every 30 s
    assert refused.headers["retry-after"] == "30"
    assert 29_000 < int(refused.headers["retry-after-ms"]) <= 30_000
    assert refused.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-omniroute-request-id"]
    assert other_key.status_code == 200
    assert "x-ratelimit-limit-requests" not in other_key.headers  # the client key has no limits
    assert len(await fake.calls()) == 3  # the refused request never reached an upstream


async def test_key_defaults_apply_to_keys_without_their_own_limits(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, settings={"rateLimit": {"keyDefaults": {"requestsPerMinute": 1}}})
    async with edge_for(redis, config) as edge:
        allowed = await edge.post(CHAT, json=chat("default limit"), headers=auth())
        refused = await edge.post(CHAT, json=chat("default limit again"), headers=auth())
    assert allowed.status_code == 200
    assert allowed.headers["x-ratelimit-limit-requests"] == "1"
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"


async def test_disabled_rate_limits_admit_everything(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, limited_rpm=1, settings={"rateLimit": {"enabled": False}})
    async with edge_for(redis, config) as edge:
        for n in range(3):
            response = await edge.post(CHAT, json=chat(f"unlimited {n}"), headers=auth(LIMITED_KEY))
            assert response.status_code == 200
            assert "x-ratelimit-limit-requests" not in response.headers


async def test_a_connections_rpm_limit_moves_the_request_to_the_next_connection(
    redis: Redis, fake: Fake, base: str
) -> None:
    config = snapshot(base, limits={"A": {"max_requests_per_minute": 1}})
    async with edge_for(redis, config) as edge:
        first = await edge.post(CHAT, json=chat("A's only request"), headers=auth())
        second = await edge.post(CHAT, json=chat("A is at its limit"), headers=auth())
    assert first.status_code == second.status_code == 200
    assert "x-omniroute-fallback-attempts" not in second.headers  # skipped, not tried
    assert "x-ratelimit-limit-requests" not in second.headers  # a connection's limit is not the caller's
    assert await fake.calls() == [("A", 200), ("B", 200)]


async def test_a_lone_connection_at_its_limit_is_a_429_for_the_caller(redis: Redis, fake: Fake, base: str) -> None:
    config = snapshot(base, connections=("A",), limits={"A": {"max_requests_per_minute": 1}})
    async with edge_for(redis, config) as edge:
        assert (await edge.post(CHAT, json=chat("first"), headers=auth())).status_code == 200
        refused = await edge.post(CHAT, json=chat("second"), headers=auth())
    assert refused.status_code == 429, refused.text
    assert "skipped (connection_limited" in refused.json()["error"]["message"]
    assert refused.headers["retry-after"] == "60"
    assert 59_000 < int(refused.headers["retry-after-ms"]) <= 60_000
    assert await fake.calls() == [("A", 200)]


async def test_a_connection_at_max_concurrent_sends_the_next_request_elsewhere(
    redis: Redis, fake: Fake, base: str
) -> None:
    await fake.script({"delay_ms": 700}, key=KEY_A, times=1)
    config = snapshot(base, limits={"A": {"max_concurrent": 1}})
    seat = keys.semaphore("c:{" + CONN_A + "}:concurrent")
    async with edge_for(redis, config) as edge:
        slow, moved = await post_concurrently(
            edge, CHAT, [(chat("holds A's only seat"), auth()), (chat("arrives meanwhile"), auth())]
        )
        assert slow.status_code == moved.status_code == 200
        assert slow.headers["x-omniroute-provider"] == moved.headers["x-omniroute-provider"] == "openai"
        assert await fake.calls() == [("B", 200), ("A", 200)]  # B answered while A still held its seat
        await eventually_async(lambda: _empty(redis, seat))  # the seat is given back at settlement
        again = await edge.post(CHAT, json=chat("A is free again"), headers=auth())
    assert again.status_code == 200
    assert (await fake.calls())[-1] == ("A", 200)


async def _empty(redis: Redis, key: str) -> bool:
    return int(await redis.zcard(key)) == 0


async def test_a_failed_attempt_gives_its_seat_back(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 503}, key=KEY_A, times=1)
    config = snapshot(base, limits={"A": {"max_concurrent": 1}})
    seat = keys.semaphore("c:{" + CONN_A + "}:concurrent")
    async with edge_for(redis, config) as edge:
        failed_over = await edge.post(CHAT, json=chat("A fails"), headers=auth())
        assert failed_over.status_code == 200
        assert await _empty(redis, seat)
        back = await edge.post(CHAT, json=chat("A again"), headers=auth())
    assert back.status_code == 200
    assert await fake.calls() == [("A", 503), ("B", 200), ("A", 200)]


async def test_token_limits_are_corrected_to_the_real_usage_after_the_answer(
    redis: Redis, fake: Fake, base: str
) -> None:
    """Admission takes the estimate; settlement charges the difference to what the upstream reported."""
    config = snapshot(base, settings={"rateLimit": {"keyDefaults": {"tokensPerDay": 1_000}}})
    rate = Rate(1_000, DAY_MS)
    name = "k:{" + CLIENT_ID + "}:tpd"
    body = chat("count my tokens please")
    async with edge_for(redis, config) as edge:
        first = await edge.post(CHAT, json=body, headers=auth())
        assert first.status_code == 200
        estimated = 1_000 - int(first.headers["x-ratelimit-remaining-tokens"])
        used = int(first.headers["x-omniroute-tokens-in"]) + int(first.headers["x-omniroute-tokens-out"])
        assert estimated > 0 and used != estimated
        await eventually_async(lambda: _remaining(redis, name, rate, 1_000 - used))
        second = await edge.post(CHAT, json=body, headers=auth())
    assert second.headers["x-ratelimit-limit-tokens"] == "1000"
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 1_000 - used - estimated


async def _remaining(redis: Redis, name: str, rate: Rate, expected: int) -> bool:
    batch = RedisBatch(redis)
    slot = RateLimiter(redis).peek(batch, name, rate)
    await batch.run()
    return slot.value.remaining == expected


async def test_a_stream_carries_the_rate_limit_headers_too(redis: Redis, fake: Fake, base: str) -> None:
    async with edge_for(redis, snapshot(base, limited_rpm=5)) as edge:
        response = await edge.post(CHAT, json=chat("streamed", stream=True), headers=auth(LIMITED_KEY))
    assert response.status_code == 200
    assert response.headers["x-ratelimit-limit-requests"] == "5"
    assert response.headers["x-ratelimit-remaining-requests"] == "4"
    assert response.text.rstrip().endswith("data: [DONE]")


async def test_a_connection_refused_a_seat_gets_its_rate_consumption_back(redis: Redis, fake: Fake, base: str) -> None:
    """Rate and seat are taken together: when the seat is refused, the rate consumed is given back."""
    await fake.script({"delay_ms": 600}, key=KEY_A, times=1)
    config = snapshot(base, limits={"A": {"max_concurrent": 1, "max_requests_per_minute": 10}})
    rpm = Rate(10, MINUTE_MS)
    name = "c:{" + CONN_A + "}:rpm"
    async with edge_for(redis, config) as edge:
        slow, moved = await post_concurrently(edge, CHAT, [(chat("seated"), auth()), (chat("refused a seat"), auth())])
    assert slow.status_code == moved.status_code == 200
    assert await fake.calls() == [("B", 200), ("A", 200)]
    assert await _remaining(redis, name, rpm, 9)  # only the seated request counts against A
