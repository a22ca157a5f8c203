"""The coalescer: callers of one event-loop turn share one pipeline, each gets its own answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.kv.batch import Batch, Slot
from shared.kv.coalesce import Coalescer
from tests.contract.kv.conftest import REDIS_DB
from tests.support.env import redis_url


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url(REDIS_DB))
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


def _incr(key: str, seen: list[Batch]) -> Callable[[Batch], Slot[int]]:
    def queue(batch: Batch) -> Slot[int]:
        seen.append(batch)
        return batch.call(lambda pipe: pipe.incr(key), lambda store: 0, int)

    return queue


async def test_callers_of_one_turn_share_one_batch_and_get_their_own_values(redis: Redis) -> None:
    coalescer = Coalescer(redis)
    seen: list[Batch] = []
    slots = await asyncio.gather(*(coalescer.run(_incr(f"k{i % 2}", seen)) for i in range(10)))
    assert len({id(batch) for batch in seen}) == 1
    assert sorted(slot.value for slot in slots) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]

    later = await coalescer.run(_incr("k0", seen))
    assert later.value == 6
    assert len({id(batch) for batch in seen}) == 2  # the next turn opened a new batch


async def test_a_cancelled_caller_does_not_cancel_the_others(redis: Redis) -> None:
    coalescer = Coalescer(redis)
    seen: list[Batch] = []
    first = asyncio.ensure_future(coalescer.run(_incr("a", seen)))
    second = asyncio.ensure_future(coalescer.run(_incr("a", seen)))
    await asyncio.sleep(0)
    first.cancel()
    slot = await second
    assert slot.value in (1, 2)
    assert int(await redis.get("a")) == 2  # the cancelled caller's command was sent with the batch


async def test_a_failed_round_trip_reaches_every_caller_of_the_turn() -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    coalescer = Coalescer(dead)
    seen: list[Batch] = []
    outcomes = await asyncio.gather(
        *(coalescer.run(_incr("x", seen)) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, RedisConnectionError | OSError) for outcome in outcomes)
    await dead.aclose()
