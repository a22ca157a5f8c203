"""Idempotent requests through one in-process edge, on real Redis: a repeated `Idempotency-Key` gets
the first answer again (JSON or stream) without calling the upstream twice; another body is a 422;
a failure is not stored; a duplicate arriving while the first runs waits for its answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.integration.edge.dispatch_support import (
    CHAT,
    KEY_A,
    LIMITED_KEY,
    Fake,
    auth,
    chat,
    edge_for,
    fresh_redis,
    post_concurrently,
    snapshot,
)

REPLAYED = "x-omniroute-idempotent"


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


def keyed(key: str, api_key: str | None = None) -> dict[str, str]:
    return {**(auth(api_key) if api_key else auth()), "Idempotency-Key": key}


async def test_a_repeated_json_request_gets_the_stored_answer(redis: Redis, fake: Fake, base: str) -> None:
    async with edge_for(redis, snapshot(base)) as edge:
        first = await edge.post(CHAT, json=chat("charge once"), headers=keyed("order-1"))
        second = await edge.post(CHAT, json=chat("charge once"), headers=keyed("order-1"))
    assert first.status_code == second.status_code == 200
    assert REPLAYED not in first.headers
    assert second.headers[REPLAYED] == "true"
    assert second.content == first.content
    assert second.headers["x-omniroute-tokens-out"] == first.headers["x-omniroute-tokens-out"]
    assert second.headers["x-omniroute-request-id"] != first.headers["x-omniroute-request-id"]
    assert await fake.calls() == [("A", 200)]


async def test_a_repeated_stream_gets_the_same_stream(redis: Redis, fake: Fake, base: str) -> None:
    body = chat("stream once", stream=True)
    async with edge_for(redis, snapshot(base)) as edge:
        first = await edge.post(CHAT, json=body, headers=keyed("stream-1"))
        second = await edge.post(CHAT, json=body, headers=keyed("stream-1"))
    assert first.status_code == second.status_code == 200
    assert first.text.rstrip().endswith("data: [DONE]")
    assert second.headers[REPLAYED] == "true"
    assert second.headers["content-type"].startswith("text/event-stream")
    assert second.content == first.content
    assert await fake.calls() == [("A", 200)]


async def test_the_same_key_with_another_body_is_a_422(redis: Redis, fake: Fake, base: str) -> None:
    async with edge_for(redis, snapshot(base)) as edge:
        first = await edge.post(CHAT, json=chat("original"), headers=keyed("reused"))
        other = await edge.post(CHAT, json=chat("something else"), headers=keyed("reused"))
    assert first.status_code == 200
    assert other.status_code == 422, other.text
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["param"] == "Idempotency-Key"
    assert await fake.calls() == [("A", 200)]


async def test_keys_are_scoped_to_the_api_key(redis: Redis, fake: Fake, base: str) -> None:
    async with edge_for(redis, snapshot(base)) as edge:
        mine = await edge.post(CHAT, json=chat("scoped"), headers=keyed("same-key"))
        theirs = await edge.post(CHAT, json=chat("scoped"), headers=keyed("same-key", LIMITED_KEY))
    assert mine.status_code == theirs.status_code == 200
    assert REPLAYED not in theirs.headers
    assert len(await fake.calls()) == 2


async def test_a_failure_is_not_stored_so_a_retry_runs_again(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 503}, key=KEY_A, times=1)
    async with edge_for(redis, snapshot(base, connections=("A",))) as edge:
        failed = await edge.post(CHAT, json=chat("try again"), headers=keyed("flaky"))
        retried = await edge.post(CHAT, json=chat("try again"), headers=keyed("flaky"))
        replayed = await edge.post(CHAT, json=chat("try again"), headers=keyed("flaky"))
    assert failed.status_code == 502
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert replayed.headers[REPLAYED] == "true"
    assert await fake.calls() == [("A", 503), ("A", 200)]


async def test_a_refused_request_does_not_hold_its_key(redis: Redis, fake: Fake, base: str) -> None:
    """A 429 at admission releases the claim: the same key may be used again once admitted."""
    async with edge_for(redis, snapshot(base, limited_rpm=1)) as edge:
        assert (await edge.post(CHAT, json=chat("uses the minute"), headers=auth(LIMITED_KEY))).status_code == 200
        refused = await edge.post(CHAT, json=chat("later"), headers=keyed("after-429", LIMITED_KEY))
        assert refused.status_code == 429
        again = await edge.post(CHAT, json=chat("later"), headers=keyed("after-429", LIMITED_KEY))
    assert again.status_code == 429  # refused again, not "in progress" (409) nor a replay of the 429
    assert REPLAYED not in again.headers


async def test_a_duplicate_sent_while_the_first_runs_waits_for_its_answer(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"delay_ms": 600}, key=KEY_A, times=1)
    body = chat("slow and once")
    async with edge_for(redis, snapshot(base, connections=("A",))) as edge:
        first, duplicate = await post_concurrently(edge, CHAT, [(body, keyed("slow")), (body, keyed("slow"))])
    assert first.status_code == duplicate.status_code == 200
    assert REPLAYED not in first.headers
    assert duplicate.headers[REPLAYED] == "true"
    assert duplicate.content == first.content
    assert await fake.calls() == [("A", 200)]


async def test_a_duplicate_gives_up_waiting_with_a_409(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"delay_ms": 900}, key=KEY_A, times=1)
    body = chat("very slow")
    config = snapshot(base, connections=("A",), settings={"idempotency": {"waitMs": 200}})
    async with edge_for(redis, config) as edge:
        first, duplicate = await post_concurrently(edge, CHAT, [(body, keyed("slower")), (body, keyed("slower"))])
    assert first.status_code == 200
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["error"]["code"] == "idempotency_in_flight"
    assert duplicate.headers["retry-after"] == "1"
    assert await fake.calls() == [("A", 200)]


async def test_x_request_id_serves_as_the_key(redis: Redis, fake: Fake, base: str) -> None:
    headers = {**auth(), "X-Request-Id": "client-request-7"}
    async with edge_for(redis, snapshot(base)) as edge:
        first = await edge.post(CHAT, json=chat("by request id"), headers=headers)
        second = await edge.post(CHAT, json=chat("by request id"), headers=headers)
    assert second.headers[REPLAYED] == "true"
    assert second.content == first.content
    assert len(await fake.calls()) == 1
