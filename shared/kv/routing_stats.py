"""Fleet-wide routing statistics: rotation counters, use counts, recent latencies.

Round-robin rotates on a shared counter, least-used reads shared use counts, latency routing reads
the recent latencies every edge recorded; all through the Batch API, so reads ride on a request's
admission round trip and writes on its settlement round trip.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import Lua

__all__ = ["RoutingStats", "p95"]

_LATENCY_SAMPLES = 50
_STATS_TTL_MS = 24 * 3600 * 1000

_BUMP = """
local value = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return value
"""

_RECORD_LATENCY = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


def p95(samples: list[float]) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


class RoutingStats:
    def __init__(self, redis: Redis | None) -> None:
        self._bump = Lua(redis, _BUMP)
        self._record = Lua(redis, _RECORD_LATENCY)

    def bump(self, batch: Batch, name: str) -> Slot[int]:
        """Increment a counter (a rotation or a use count) and return its new value."""
        key = keys.routing_counter(name)

        def memory(store: MemoryStore) -> Any:
            value = int(store.get(key) or 0) + 1
            store.set(key, value, _STATS_TTL_MS)
            return value

        return batch.call(self._bump.call([key], [_STATS_TTL_MS]), memory, int)

    def counts(self, batch: Batch, names: list[str]) -> Slot[list[int]]:
        counter_keys = [keys.routing_counter(name) for name in names]
        return batch.call(
            lambda pipe: pipe.mget(counter_keys),
            lambda store: [store.get(key) for key in counter_keys],
            lambda raw: [int(value) if value is not None else 0 for value in raw],
        )

    def record_latency(self, batch: Batch, target: str, milliseconds: float) -> Slot[None]:
        key = keys.routing_latency(target)

        def memory(store: MemoryStore) -> Any:
            samples = [round(milliseconds, 1), *(store.get(key) or [])][:_LATENCY_SAMPLES]
            store.set(key, samples, _STATS_TTL_MS)
            return 1

        queue = self._record.call([key], [round(milliseconds, 1), _LATENCY_SAMPLES, _STATS_TTL_MS])
        return batch.call(queue, memory, lambda _: None)

    def latencies(self, batch: Batch, targets: list[str]) -> Slot[list[list[float]]]:
        """Recent latencies per target, newest first (one LRANGE each, in the same pipeline)."""
        return _Joined([self._latency(batch, keys.routing_latency(target)) for target in targets])

    @staticmethod
    def _latency(batch: Batch, key: str) -> Slot[list[float]]:
        return batch.call(
            lambda pipe: pipe.lrange(key, 0, _LATENCY_SAMPLES - 1),
            lambda store: list(store.get(key) or []),
            lambda raw: [float(v) for v in raw],
        )


class _Joined(Slot[list[list[float]]]):
    """A slot whose value is the values of several slots filled by the same batch."""

    def __init__(self, parts: list[Slot[list[float]]]) -> None:
        super().__init__()
        self._parts = parts

    @property
    def value(self) -> list[list[float]]:
        return [part.value for part in self._parts]
