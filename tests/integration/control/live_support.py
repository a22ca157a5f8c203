"""Seeding the fleet's Redis state with the shared/kv primitives the edges use, for the live-state API tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from redis.asyncio import Redis

from shared.kv.batch import Batch, RedisBatch, Slot
from shared.kv.breaker import Breaker, BreakerPolicy, BreakerView
from shared.kv.cooldown import Cooldown, CooldownPolicy

T = TypeVar("T")


async def run(redis: Redis, queue: Callable[[Batch], Slot[T]]) -> T:
    batch = RedisBatch(redis)
    slot = queue(batch)
    await batch.run()
    return slot.value


async def trip(redis: Redis, provider: str, times: int = 3, reset_ms: int = 30_000) -> BreakerView:
    """Count `times` failures against a breaker whose threshold is 3: from 3 on, it is open."""
    policy = BreakerPolicy(failure_threshold=3, reset_ms=reset_ms)
    view: BreakerView | None = None
    for _ in range(times):
        view = await run(redis, lambda batch: Breaker(redis).fail(batch, provider, policy, False))
    assert view is not None
    return view


async def cool(redis: Redis, connection_id: str, retry_after_ms: int | None = None) -> int:
    """A cooldown as the edge applies it: the upstream's hint, else the escalating base (3 s)."""
    return await run(redis, lambda batch: Cooldown(redis).cool(batch, connection_id, CooldownPolicy(), retry_after_ms))


async def breaker_view(redis: Redis, provider: str) -> BreakerView:
    return await run(redis, lambda batch: Breaker(redis).read(batch, provider))


async def cooling(redis: Redis, *connection_ids: str) -> dict[str, int]:
    return await run(redis, lambda batch: Cooldown(redis).remaining(batch, list(connection_ids)))


def by(items: list[dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    return {str(item[field]): item for item in items}
