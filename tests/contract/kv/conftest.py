"""One environment per backend for the shared-state primitives: the in-memory twin and real Redis.

Every scenario runs against both. On the twin `advance` moves the fake clock and timings are
exact; on Redis it sleeps (scenarios keep periods of 100-500 ms) and timings are checked to
within `tolerance_ms`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from redis.asyncio import Redis

from shared.kv.batch import Batch, MemoryBatch, MemoryStore, RedisBatch, Slot
from tests.support.env import redis_url

REDIS_DB = 9
T = TypeVar("T")


class KvEnv:
    def __init__(self, kind: str, redis: Redis | None, store: MemoryStore | None, clock: list[int]) -> None:
        self.kind = kind
        self.redis = redis  # None on the twin: primitives are built twin-only
        self.store = store
        self._clock = clock
        self.tolerance_ms = 20 if redis is not None else 0

    def batch(self) -> Batch:
        if self.redis is not None:
            return RedisBatch(self.redis)
        assert self.store is not None
        return MemoryBatch(self.store)

    async def run(self, queue: Callable[[Batch], Slot[T]]) -> T:
        """Queue one call on a fresh batch, run it, return the value."""
        batch = self.batch()
        slot = queue(batch)
        await batch.run()
        return slot.value

    async def advance(self, ms: int) -> None:
        if self.redis is not None:
            await asyncio.sleep(ms / 1000)
        else:
            self._clock[0] += ms

    async def exists(self, key: str) -> bool:
        if self.redis is not None:
            return bool(await self.redis.exists(key))
        assert self.store is not None
        return self.store.get(key) is not None

    async def ttl_ms(self, key: str) -> int:
        if self.redis is not None:
            return int(await self.redis.pttl(key))
        assert self.store is not None
        return self.store.ttl_ms(key)

    def near(self, value: int, expected: int, below: bool = True) -> bool:
        """`value` equals `expected` on the twin; on Redis it may be up to tolerance_ms less (time
        passes between calls), or either side with below=False."""
        low = expected - self.tolerance_ms
        high = expected if below else expected + self.tolerance_ms
        return low <= value <= high


@pytest.fixture(params=["memory", "redis"])
async def kv(request: pytest.FixtureRequest) -> AsyncIterator[KvEnv]:
    if request.param == "memory":
        clock = [1_700_000_000_000]
        yield KvEnv("memory", None, MemoryStore(now_ms=lambda: clock[0]), clock)
        return
    client = Redis.from_url(redis_url(REDIS_DB))
    await client.flushdb()
    try:
        yield KvEnv("redis", client, None, [0])
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def real_redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url(REDIS_DB))
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


def values(slots: list[Slot[Any]]) -> list[Any]:
    return [slot.value for slot in slots]
