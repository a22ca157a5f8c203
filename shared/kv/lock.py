"""A mutual-exclusion lease shared by every replica (one OAuth refresh per connection at a time).

The lease is a key holding its owner's random token with a PX expiry, so a holder that died stops
blocking the others when its lease runs out, on Redis's clock, not a replica's. Acquiring again
with the same token renews the lease; only the owner can release it. `hold` waits for the lease,
retrying as the current one nears its end, and gives up after `wait_ms`.

A lease is not a fence: a holder paused past its lease can still act. Callers pair it with a
compare-and-swap on the data they write (the OAuth token version) so such a straggler loses.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from shared.kv.batch import Batch, MemoryStore, RedisBatch, Slot
from shared.kv.scripting import Lua, as_int, as_text

__all__ = ["Lease", "LeaseTimeout"]

# KEYS: the lease. ARGV: owner token, lease_ms. Returns 0 when held, else the holder's remaining ms.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 0
end
return math.max(redis.call('PTTL', KEYS[1]), 1)
"""

# KEYS: the lease. ARGV: owner token. Returns 1 when this owner released it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_MAX_RETRY_SLEEP_MS = 50


class LeaseTimeout(TimeoutError):
    """Someone else held the lease for longer than the caller was willing to wait."""


def _acquire_twin(store: MemoryStore, key: str, owner: str, lease_ms: int) -> int:
    holder = store.get(key)
    if holder is None or holder == owner:
        store.set(key, owner, lease_ms)
        return 0
    return max(store.ttl_ms(key), 1)


def _release_twin(store: MemoryStore, key: str, owner: str) -> int:
    if store.get(key) == owner:
        store.delete(key)
        return 1
    return 0


def _holder(raw: Any) -> str | None:
    return None if raw is None else as_text(raw)


class Lease:
    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self._acquire = Lua(redis, _ACQUIRE)
        self._release = Lua(redis, _RELEASE)

    @staticmethod
    def new_owner() -> str:
        return secrets.token_hex(16)

    def acquire(self, batch: Batch, key: str, owner: str, lease_ms: int) -> Slot[int]:
        """0 when `owner` holds the lease (taken or renewed), else how long the holder still has (ms)."""
        return batch.call(
            self._acquire.call([key], [owner, lease_ms]),
            lambda s: _acquire_twin(s, key, owner, lease_ms),
            as_int,
        )

    def release(self, batch: Batch, key: str, owner: str) -> Slot[bool]:
        """True when `owner` held the lease and let it go; a lapsed lease is left to its new holder."""
        return batch.call(
            self._release.call([key], [owner]), lambda s: _release_twin(s, key, owner), lambda raw: as_int(raw) == 1
        )

    def holder(self, batch: Batch, key: str) -> Slot[str | None]:
        return batch.call(lambda pipe: pipe.get(key), lambda s: s.get(key), _holder)

    @asynccontextmanager
    async def hold(self, key: str, lease_ms: int, wait_ms: int) -> AsyncIterator[str]:
        """Hold the lease for the block (yields the owner token); raises LeaseTimeout after wait_ms."""
        if self._redis is None:
            raise RuntimeError("hold needs a Redis client")
        owner = self.new_owner()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_ms / 1000
        while True:
            batch = RedisBatch(self._redis)
            slot = self.acquire(batch, key, owner, lease_ms)
            await batch.run()
            if slot.value == 0:
                break
            left = deadline - loop.time()
            if left <= 0:
                raise LeaseTimeout(f"lease {key} still held after {wait_ms} ms")
            await asyncio.sleep(min(slot.value, _MAX_RETRY_SLEEP_MS, left * 1000) / 1000)
        try:
            yield owner
        finally:
            batch = RedisBatch(self._redis)
            self.release(batch, key, owner)
            await batch.run()
