"""The edge's handle on the state it shares with every other edge, and its fallback without Redis.

Each request queues its shared-state operations on batches (one batch = one Redis round trip)
and counts them; the requests of one event-loop turn share one pipeline (`shared/kv/coalesce.py`).
When Redis does not answer, the same operations run against a process-local twin instead
(limits divided by `fallback_divisor`, see admission): the request is served, the fallback is
counted in a metric and logged, never answered with a 500. After a failure the edge stays local
for `retry_interval` seconds, so an outage costs one failed round trip per second, not one per
request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared import metrics
from shared.kv.batch import Batch, MemoryBatch, MemoryStore
from shared.kv.breaker import Breaker
from shared.kv.budget import Budgets
from shared.kv.coalesce import Coalescer
from shared.kv.concurrency import Semaphore
from shared.kv.cooldown import Cooldown
from shared.kv.idempotency import Idempotency
from shared.kv.ratelimit import RateLimiter
from shared.kv.routing_stats import RoutingStats
from shared.kv.sessions import Sessions

__all__ = ["Fleet", "Trips"]

log = logging.getLogger(__name__)

R = TypeVar("R")


class Trips:
    """Redis round trips made on behalf of one request (observed once, when it is settled)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def add(self) -> None:
        self.count += 1

    def observe(self, route: str) -> None:
        metrics.REDIS_ROUND_TRIPS.labels(route).observe(self.count)


class Fleet:
    def __init__(self, redis: Redis, retry_interval: float = 1.0) -> None:
        self.redis = redis
        self.breaker = Breaker(redis)
        self.budgets = Budgets(redis)
        self.cooldown = Cooldown(redis)
        self.limiter = RateLimiter(redis)
        self.semaphore = Semaphore(redis)
        self.idempotency = Idempotency(redis)
        self.sessions = Sessions(redis)
        self.stats = RoutingStats(redis)
        self.local = MemoryStore()
        self._coalescer = Coalescer(redis)
        self._retry_interval = retry_interval
        self._local_until = 0.0

    @property
    def degraded(self) -> bool:
        """True while this edge serves shared state locally because Redis failed."""
        return time.monotonic() < self._local_until

    async def run(self, queue: Callable[[Batch, bool], R], trips: Trips, operation: str) -> R:
        """Queue with `queue(batch, local)` and run it: on Redis, or locally when Redis fails.

        `queue` must only queue (it may run twice: once for Redis, once for the fallback); the
        slots in the value it returns are filled when this returns.
        """
        if not self.degraded:
            trips.add()
            try:
                return await self._coalescer.run(lambda batch: queue(batch, False))
            except (RedisError, OSError) as exc:
                self._fall_back(operation, exc)
        else:
            metrics.REDIS_FALLBACKS.labels(operation).inc()
        local = MemoryBatch(self.local)
        queued = queue(local, True)
        await local.run()
        return queued

    def _fall_back(self, operation: str, exc: BaseException) -> None:
        metrics.REDIS_FALLBACKS.labels(operation).inc()
        metrics.REDIS_ERRORS.labels(operation).inc()
        if not self.degraded:
            log.warning(
                "Redis unreachable; serving shared state from this process for %.1f s",
                self._retry_interval,
                extra={"operation": operation, "error": type(exc).__name__},
            )
        self._local_until = time.monotonic() + self._retry_interval
