"""/api/usage/logs: request-level usage rows, newest first, paginated and filtered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from services.control.context import control_state
from services.control.params import parse_uuid

__all__ = ["UsageController"]

# Whole statements as literals: values only ever travel as $n parameters.
_PAGE = """SELECT * FROM usage_events
    WHERE ($1::uuid IS NULL OR api_key_id = $1)
      AND ($2::text IS NULL OR provider = $2)
      AND ($3::text IS NULL OR model = $3)
      AND ($4::timestamptz IS NULL OR ts >= $4)
      AND ($5::timestamptz IS NULL OR ts < $5)
      AND ($6::uuid IS NULL OR connection_id = $6)
    ORDER BY ts DESC, request_id DESC LIMIT $7 OFFSET $8"""
_COUNT = """SELECT count(*) FROM usage_events
    WHERE ($1::uuid IS NULL OR api_key_id = $1)
      AND ($2::text IS NULL OR provider = $2)
      AND ($3::text IS NULL OR model = $3)
      AND ($4::timestamptz IS NULL OR ts >= $4)
      AND ($5::timestamptz IS NULL OR ts < $5)
      AND ($6::uuid IS NULL OR connection_id = $6)"""


class UsageLog(msgspec.Struct, kw_only=True, rename="camel"):
    request_id: str
    timestamp: datetime
    endpoint: str
    status: int
    api_key_id: str | None
    provider: str | None
    connection_id: str | None
    model: str | None
    requested_model: str | None
    stream: bool
    tokens_in: int
    tokens_out: int
    tokens_cached: int
    tokens_reasoning: int
    cost_usd: float
    latency_ms: float
    ttfb_ms: float | None
    cache: str | None
    fallback_attempts: int
    error_code: str | None


class UsageLogPage(msgspec.Struct, kw_only=True):
    logs: list[UsageLog]
    total: int
    limit: int
    offset: int


def _log(row: asyncpg.Record) -> UsageLog:
    return UsageLog(
        request_id=row["request_id"],
        timestamp=row["ts"],
        endpoint=row["endpoint"],
        status=row["status"],
        api_key_id=str(row["api_key_id"]) if row["api_key_id"] else None,
        provider=row["provider"],
        connection_id=str(row["connection_id"]) if row["connection_id"] else None,
        model=row["model"],
        requested_model=row["requested_model"],
        stream=row["stream"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        tokens_cached=row["tokens_cached"],
        tokens_reasoning=row["tokens_reasoning"],
        cost_usd=row["cost_micros"] / 1_000_000,
        latency_ms=row["latency_ms"],
        ttfb_ms=row["ttfb_ms"],
        cache=row["cache"],
        fallback_attempts=row["fallback_attempts"],
        error_code=row["error_code"],
    )


class UsageController(Controller):
    path = "/api/usage"
    tags = ["usage"]

    @get("/logs")
    async def usage_logs(
        self,
        request: Request[Any, Any, Any],
        api_key_id: Annotated[str | None, QueryParameter(name="apiKeyId")] = None,
        connection_id: Annotated[str | None, QueryParameter(name="connectionId")] = None,
        provider: FromQuery[str | None] = None,
        model: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> UsageLogPage:
        """Usage rows newest first; filter by key, connection, provider, model and time."""
        key = parse_uuid(api_key_id, "API key") if api_key_id else None
        conn_id = parse_uuid(connection_id, "provider connection") if connection_id else None
        args = (key, provider, model, since, until, conn_id)
        pool = control_state(request).pool
        rows = await pool.fetch(_PAGE, *args, limit, offset)
        total = await pool.fetchval(_COUNT, *args)
        return UsageLogPage(logs=[_log(r) for r in rows], total=int(total), limit=limit, offset=offset)
