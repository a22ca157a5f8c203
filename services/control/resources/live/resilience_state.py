"""The `state` of GET /api/resilience: every provider breaker and connection cooldown held in Redis."""

from __future__ import annotations

from typing import Literal

import msgspec
from redis.asyncio import Redis

from services.control.db.types import Executor
from services.control.resources.live.directory import connection_names
from shared.kv.batch import RedisBatch
from shared.kv.breaker import Breaker, providers
from shared.kv.cooldown import read_all

__all__ = ["BreakerEntry", "CooldownEntry", "ResilienceState", "read_state"]


class BreakerEntry(msgspec.Struct, kw_only=True, rename="camel"):
    provider: str
    state: Literal["closed", "open", "half_open"]
    failures: int  # consecutive failures counted toward the threshold
    retry_in_ms: int  # open: until the half-open probe is due; half_open: until a taken probe lease lapses


class CooldownEntry(msgspec.Struct, kw_only=True, rename="camel"):
    connection_id: str
    connection_name: str | None  # None when the connection is no longer in Postgres
    provider: str | None
    remaining_ms: int  # 0: not cooling, only an escalation level is remembered
    level: int


class ResilienceState(msgspec.Struct, kw_only=True):
    breakers: list[BreakerEntry]
    cooldowns: list[CooldownEntry]


async def read_state(db: Executor, redis: Redis) -> ResilienceState:
    """Providers whose breaker holds state (failures, open, half-open) and connections cooling or escalated."""
    names = await providers(redis)
    breaker = Breaker(redis)
    batch = RedisBatch(redis)
    views = [(provider, breaker.read(batch, provider)) for provider in names]
    await batch.run()
    cooling = await read_all(redis)
    directory = await connection_names(db, (view.connection_id for view in cooling))
    breakers = [
        BreakerEntry(
            provider=provider,
            state=slot.value.state,
            failures=slot.value.failures,
            retry_in_ms=slot.value.retry_in_ms,
        )
        for provider, slot in views
        if slot.value.state != "closed" or slot.value.failures > 0  # a key that lapsed since the scan
    ]
    cooldowns = []
    for view in cooling:
        known = directory.get(view.connection_id)
        cooldowns.append(
            CooldownEntry(
                connection_id=view.connection_id,
                connection_name=known.name if known else None,
                provider=known.provider if known else None,
                remaining_ms=view.remaining_ms,
                level=view.level,
            )
        )
    return ResilienceState(breakers=breakers, cooldowns=cooldowns)
