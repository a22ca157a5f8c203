"""/api/usage: request rows (logs, request-logs), roll-up history, and one connection's usage.

`logs` and `request-logs` read the same raw rows (`usage_events`, one per request) with the same
filters; `request-logs` adds the exact cost in micro-dollars, when the row was stored and the
ingest delay, for debugging one request. `history` and the per-connection totals read the hourly
and daily roll-ups the usage workers maintain, so they stay cheap and outlive log retention.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery, QueryParameter

from services.control.context import control_state
from services.control.errors import InvalidField, NotFoundError
from services.control.params import parse_uuid
from services.control.resources.usage import queries
from services.control.resources.usage.schemas import (
    ConnectionUsage,
    Period,
    RequestLogPage,
    UsageHistory,
    UsageLogPage,
    bucket,
    model_usage,
    request_log,
    totals,
    usage_log,
)

__all__ = ["UsageController"]

_DEFAULT_SPAN = {"hour": timedelta(hours=24), "day": timedelta(days=30)}
_MAX_SPAN = {"hour": timedelta(days=93), "day": timedelta(days=3660)}

Text = Annotated[str | None, QueryParameter(max_length=256)]
KeyId = Annotated[str | None, QueryParameter(name="apiKeyId", max_length=64)]
ConnectionId = Annotated[str | None, QueryParameter(name="connectionId", max_length=64)]
Instant = Annotated[
    str | None, QueryParameter(max_length=64, description="ISO 8601 date or date-time (UTC without a zone)")
]
Status = Annotated[int | None, QueryParameter(ge=100, le=599)]
Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


def _uuid_filter(value: str | None, field: str) -> str | None:
    """A filter that is not a UUID is bad input (400 naming it), not an unknown id."""
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidField(field, "must be a UUID") from None


def _instant(value: str | None, field: str) -> datetime | None:
    """ISO 8601 date or date-time; without a zone, UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidField(field, "must be an ISO 8601 date or date-time, e.g. 2026-01-31T12:00:00Z") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _time_range(since_text: str | None, until_text: str | None) -> tuple[datetime | None, datetime | None]:
    since, until = _instant(since_text, "since"), _instant(until_text, "until")
    if since is not None and until is not None and since >= until:
        raise InvalidField("until", "must be after since")
    return since, until


def _bucket_start(moment: datetime, period: Period) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if period == "day" else moment


class UsageController(Controller):
    path = "/api/usage"
    tags = ["usage"]

    async def _page(
        self, request: Request[Any, Any, Any], filters: tuple[object, ...], limit: int, offset: int
    ) -> tuple[list[Any], int]:
        pool = control_state(request).pool
        rows = await pool.fetch(queries.LOG_PAGE, *filters, limit, offset)
        total = await pool.fetchval(queries.LOG_COUNT, *filters)
        return list(rows), int(total)

    @staticmethod
    def _filters(
        api_key_id: str | None,
        provider: str | None,
        model: str | None,
        since: str | None,
        until: str | None,
        connection_id: str | None,
        status: int | None,
    ) -> tuple[object, ...]:
        start, end = _time_range(since, until)
        key = _uuid_filter(api_key_id, "apiKeyId")
        conn_id = _uuid_filter(connection_id, "connectionId")
        return (key, provider, model, start, end, conn_id, status)

    @get("/logs")
    async def usage_logs(
        self,
        request: Request[Any, Any, Any],
        api_key_id: KeyId = None,
        connection_id: ConnectionId = None,
        provider: Text = None,
        model: Text = None,
        since: Instant = None,
        until: Instant = None,
        status: Status = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> UsageLogPage:
        """Request rows newest first; filter by key, connection, provider, model, status and time."""
        filters = self._filters(api_key_id, provider, model, since, until, connection_id, status)
        rows, total = await self._page(request, filters, limit, offset)
        return UsageLogPage(logs=[usage_log(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/request-logs")
    async def request_logs(
        self,
        request: Request[Any, Any, Any],
        api_key_id: KeyId = None,
        connection_id: ConnectionId = None,
        provider: Text = None,
        model: Text = None,
        since: Instant = None,
        until: Instant = None,
        status: Status = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> RequestLogPage:
        """The rows of /logs with exact cost in micro-dollars, storage time and ingest delay."""
        filters = self._filters(api_key_id, provider, model, since, until, connection_id, status)
        rows, total = await self._page(request, filters, limit, offset)
        return RequestLogPage(logs=[request_log(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/history")
    async def usage_history(
        self,
        request: Request[Any, Any, Any],
        period: FromQuery[Period] = "hour",
        api_key_id: KeyId = None,
        connection_id: ConnectionId = None,
        provider: Text = None,
        model: Text = None,
        since: Instant = None,
        until: Instant = None,
    ) -> UsageHistory:
        """Totals per UTC hour or day from the roll-ups; buckets without traffic are left out."""
        start, end = _time_range(since, until)
        end = end or datetime.now(UTC)
        start = start or end - _DEFAULT_SPAN[period]
        if start >= end:
            raise InvalidField("since", "must be before until")
        if end - start > _MAX_SPAN[period]:
            raise InvalidField("since", f"the range may span at most {_MAX_SPAN[period].days} days by {period}")
        first = _bucket_start(start, period)
        key = _uuid_filter(api_key_id, "apiKeyId")
        conn_id = _uuid_filter(connection_id, "connectionId")
        query = queries.HISTORY_HOURLY if period == "hour" else queries.HISTORY_DAILY
        rows = await control_state(request).pool.fetch(query, key, provider, model, conn_id, first, end)
        buckets = [bucket(row) for row in rows]
        summed: dict[str, Any] = {
            "requests": sum(b.requests for b in buckets),
            "errors": sum(b.errors for b in buckets),
            "tokens_in": sum(b.tokens_in for b in buckets),
            "tokens_out": sum(b.tokens_out for b in buckets),
            "tokens_cached": sum(b.tokens_cached for b in buckets),
            "tokens_reasoning": sum(b.tokens_reasoning for b in buckets),
            "cost_micros": sum(b.cost_micros for b in buckets),
            "latency_ms_sum": sum(row["latency_ms_sum"] for row in rows),
            "latency_ms_max": max((b.latency_ms_max or 0.0 for b in buckets), default=None),
        }
        return UsageHistory(period=period, since=first, until=end, buckets=buckets, totals=totals(summed))

    @get("/{connection_id:str}")
    async def connection_usage(
        self,
        request: Request[Any, Any, Any],
        connection_id: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> ConnectionUsage:
        """One connection's (or provider node's) usage: all-time and last-24-hour totals, per model, recent rows."""
        conn_id = parse_uuid(connection_id, "provider connection")
        pool = control_state(request).pool
        found = await pool.fetch(queries.CONNECTION, conn_id)
        if not found:
            raise NotFoundError("provider connection")
        named = next((row for row in found if row["name"] is not None), found[0])
        day_ago = _bucket_start(datetime.now(UTC), "hour") - timedelta(hours=24)
        return ConnectionUsage(
            connection_id=conn_id,
            provider=named["provider"],
            name=named["name"],
            totals=totals(await pool.fetchrow(queries.CONNECTION_TOTALS, conn_id)),
            last_24_hours=totals(await pool.fetchrow(queries.CONNECTION_SINCE, conn_id, day_ago)),
            models=[model_usage(row) for row in await pool.fetch(queries.CONNECTION_MODELS, conn_id)],
            recent=[usage_log(row) for row in await pool.fetch(queries.CONNECTION_RECENT, conn_id, limit)],
        )
