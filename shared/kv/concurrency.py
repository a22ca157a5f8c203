"""A lease-based semaphore shared by every edge (max concurrent requests per connection).

Holders sit in a ZSET scored by lease expiry (epoch ms, Redis server time). A holder whose edge
died stops counting when its lease expires: `acquire` purges expired holders before counting. A
holder acquiring again renews its lease (it still counts once), which is also how a long stream
keeps its place. The ZSET expires with its last lease.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import NOW_MS, Lua, as_int

__all__ = ["Semaphore"]

# KEYS: the ZSET. ARGV: limit, holder, lease_ms. Returns 1 when held.
_ACQUIRE = (
    NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local expiry = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], expiry, ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(last[2]) - now, 1))
return 1
"""
)

# KEYS: the ZSET. Holders whose lease has not expired.
_COUNT = NOW_MS + "\nreturn redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')\n"


def _holders(store: MemoryStore, key: str) -> dict[str, int]:
    now = store.now_ms()
    return {holder: expiry for holder, expiry in (store.get(key) or {}).items() if expiry > now}


def _acquire_twin(store: MemoryStore, key: str, limit: int, holder: str, lease_ms: int) -> int:
    holders = _holders(store, key)
    if holder not in holders and len(holders) >= limit:
        return 0
    now = store.now_ms()
    holders[holder] = now + lease_ms
    store.set(key, holders, max(max(holders.values()) - now, 1))
    return 1


def _release_twin(store: MemoryStore, key: str, holder: str) -> int:
    holders = dict(store.get(key) or {})
    if holders.pop(holder, None) is None:
        return 0
    if holders:
        store.data[key] = holders  # ZREM keeps the key's expiry
    else:
        store.delete(key)
    return 1


class Semaphore:
    def __init__(self, redis: Redis | None) -> None:
        self._acquire = Lua(redis, _ACQUIRE)
        self._count = Lua(redis, _COUNT)

    def acquire(self, batch: Batch, key: str, limit: int, holder: str, lease_ms: int) -> Slot[bool]:
        """Take (or renew) one of `limit` places for `holder`, for `lease_ms`."""
        stored = keys.semaphore(key)
        return batch.call(
            self._acquire.call([stored], [limit, holder, lease_ms]),
            lambda s: _acquire_twin(s, stored, limit, holder, lease_ms),
            lambda raw: bool(as_int(raw)),
        )

    def release(self, batch: Batch, key: str, holder: str) -> Slot[bool]:
        """Give the place back; False when the holder was not in the set (never acquired, or purged after its lease)."""
        stored = keys.semaphore(key)
        return batch.call(lambda pipe: pipe.zrem(stored, holder), lambda s: _release_twin(s, stored, holder), _positive)

    def count(self, batch: Batch, key: str) -> Slot[int]:
        """Holders with a live lease."""
        stored = keys.semaphore(key)
        return batch.call(self._count.call([stored], []), lambda s: len(_holders(s, stored)), as_int)


def _positive(raw: Any) -> bool:
    return as_int(raw) > 0
