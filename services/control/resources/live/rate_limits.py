"""GET /api/rate-limits: each API key's and connection's limits with what is left of them right now.

Limits come from Postgres exactly as the edge derives them from its snapshot (`key_limits` with the
`rateLimit` key defaults, `connection_limits`), so the limiter names peeked here are the ones the
edge consumes. Listed: active keys (not revoked, not expired) and active connections that have at
least one limit; the rest have nothing to report. Peeking consumes nothing.
"""

from __future__ import annotations

from typing import Any, Literal

import asyncpg
import msgspec
from litestar import Request, get

from services.control.context import control_state
from services.control.resources.live.fleet import fleet_state
from services.control.resources.settings.rules import RATE_LIMIT, typed
from shared.config.limits import NamedLimit, connection_limits, key_limits
from shared.config.resilience import RateLimitSettings
from shared.config.snapshot import ConnectionConfig, KeyConfig
from shared.kv.batch import RedisBatch, Slot
from shared.kv.concurrency import Semaphore
from shared.kv.ratelimit import LimitDecision, RateLimiter

__all__ = ["RateLimitsAnswer", "rate_limits"]


class LimitStatus(msgspec.Struct, kw_only=True, rename="camel"):
    unit: Literal["requests", "tokens"]
    window: Literal["minute", "day"]
    limit: int
    remaining: int  # admissible now (units of one request or one token)
    reset_ms: int  # until the bucket is full again


class Concurrency(msgspec.Struct, kw_only=True, rename="camel"):
    limit: int
    in_use: int  # requests holding a seat (live leases, fleet-wide)


class KeyStatus(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    name: str
    limits: list[LimitStatus]


class ConnectionStatus(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    name: str
    provider: str
    limits: list[LimitStatus]
    concurrent: Concurrency | None  # None: no max_concurrent on this connection


class RateLimitsAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    enabled: bool  # key limits are enforced only when this is on; connection limits always
    fallback_divisor: int
    keys: list[KeyStatus]
    connections: list[ConnectionStatus]


def _key(row: asyncpg.Record) -> KeyConfig:
    return KeyConfig(
        id=str(row["id"]),
        name=row["name"],
        key_hash="",  # not read: limits only
        max_requests_per_minute=row["max_requests_per_minute"],
        max_requests_per_day=row["max_requests_per_day"],
        max_tokens_per_minute=row["max_tokens_per_minute"],
    )


def _connection(row: asyncpg.Record) -> ConnectionConfig:
    return ConnectionConfig(
        id=str(row["id"]),
        provider=row["provider"],
        name=row["name"],
        max_requests_per_minute=row["max_requests_per_minute"],
        max_requests_per_day=row["max_requests_per_day"],
        max_tokens_per_minute=row["max_tokens_per_minute"],
        max_concurrent=row["max_concurrent"],
    )


def _statuses(peeked: list[tuple[NamedLimit, Slot[LimitDecision]]]) -> list[LimitStatus]:
    return [
        LimitStatus(
            unit=limit.unit,
            window=limit.window,
            limit=limit.rate.limit,
            remaining=slot.value.remaining,
            reset_ms=slot.value.reset_ms,
        )
        for limit, slot in peeked
    ]


async def _rows(request: Request[Any, Any, Any]) -> tuple[Any, list[asyncpg.Record], list[asyncpg.Record]]:
    pool = control_state(request).pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        settings = await conn.fetchval("SELECT value FROM settings WHERE key = $1", RATE_LIMIT.key)
        keys = await conn.fetch(
            """SELECT id, name, max_requests_per_minute, max_requests_per_day, max_tokens_per_minute FROM api_keys
               WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) ORDER BY name, id"""
        )
        connections = await conn.fetch(
            """SELECT id, provider, name, max_requests_per_minute, max_requests_per_day, max_tokens_per_minute,
                      max_concurrent
               FROM provider_connections WHERE is_active ORDER BY provider, priority, name, id"""
        )
    return settings, keys, connections


@get("/api/rate-limits", tags=["rate-limit"])
async def rate_limits(request: Request[Any, Any, Any]) -> RateLimitsAnswer:
    """Per-key and per-connection limits in force, with remaining and time to full; one Redis round trip."""
    stored, key_rows, connection_rows = await _rows(request)
    settings: RateLimitSettings = typed(RATE_LIMIT, stored)
    redis = control_state(request).redis
    limiter, seats, batch = RateLimiter(redis), Semaphore(redis), RedisBatch(redis)

    def peek(limits: list[NamedLimit]) -> list[tuple[NamedLimit, Slot[LimitDecision]]]:
        return [(limit, limiter.peek(batch, limit.name, limit.rate)) for limit in limits]

    keys = [(_key(row), peek(key_limits(_key(row), settings.key_defaults))) for row in key_rows]
    connections = []
    for row in connection_rows:
        connection = _connection(row)
        limited = connection.max_concurrent  # as the edge: only a positive value takes seats
        seat_key = "c:{" + connection.id + "}:concurrent"  # the edge's semaphore name for this connection
        in_use = seats.count(batch, seat_key) if limited else None
        connections.append((connection, peek(connection_limits(connection)), in_use))
    with fleet_state():
        await batch.run()
    return RateLimitsAnswer(
        enabled=settings.enabled,
        fallback_divisor=settings.fallback_divisor,
        keys=[KeyStatus(id=key.id, name=key.name, limits=_statuses(peeked)) for key, peeked in keys if peeked],
        connections=[
            ConnectionStatus(
                id=connection.id,
                name=connection.name,
                provider=connection.provider,
                limits=_statuses(peeked),
                concurrent=(
                    Concurrency(limit=connection.max_concurrent, in_use=in_use.value)
                    if in_use is not None and connection.max_concurrent
                    else None
                ),
            )
            for connection, peeked, in_use in connections
            if peeked or in_use is not None
        ],
    )
