"""GET /api/telemetry/summary: latency percentiles and counts per provider over a time window.

Computed in Postgres over `usage_events`, the rows the workers store from every edge's usage
stream, so the answer covers the whole cluster, not one process. It lags by the usage-ingest delay:
an edge flushes its events to the Redis stream within OMNIROUTE_USAGE_FLUSH_MS and a worker stores
them moments later (`ingestBacklog` says how many events were still waiting in the stream).
Percentiles are continuous (`percentile_cont`) over every request of the window, errors included;
TTFB percentiles cover the requests that recorded one (streams).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
import msgspec
from litestar import Request, get
from litestar.params import FromQuery

from services.control.context import control_state
from shared.kv.usage_stream import UsageStream

__all__ = ["TelemetrySummary", "telemetry_summary"]

Window = Literal["5m", "15m", "1h", "6h", "24h", "7d"]

_WINDOW_SECONDS: dict[str, int] = {"5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800}

# One pass: a row per provider and a grand total (GROUPING SETS); the window is a bound parameter.
_SUMMARY = """
SELECT provider,
       GROUPING(provider) AS is_total,
       count(*) AS requests,
       count(*) FILTER (WHERE status >= 400) AS errors,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY latency_ms) AS latency,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY ttfb_ms) AS ttfb
FROM usage_events
WHERE ts >= $1 AND ts <= $2
GROUP BY GROUPING SETS ((provider), ())
ORDER BY is_total, provider NULLS LAST
"""


class Percentiles(msgspec.Struct, kw_only=True):
    p50: float
    p95: float
    p99: float


class ProviderTelemetry(msgspec.Struct, kw_only=True, rename="camel"):
    provider: str | None  # None: requests refused before a provider was chosen (auth, limits, no route)
    count: int
    error_count: int  # status >= 400
    latency_ms: Percentiles
    ttfb_ms: Percentiles | None  # None when no request of the group recorded a time to first byte


class TelemetrySummary(msgspec.Struct, kw_only=True, rename="camel"):
    window: Window
    window_seconds: int
    since: datetime
    until: datetime
    source: str  # where the numbers come from
    ingest_backlog: int | None  # usage events still in the Redis stream (not counted yet); None: Redis down
    providers: list[ProviderTelemetry]
    total: ProviderTelemetry | None  # all requests of the window; None when there were none


def _percentiles(values: list[float] | None) -> Percentiles | None:
    if not values or any(value is None for value in values):
        return None
    return Percentiles(p50=round(values[0], 3), p95=round(values[1], 3), p99=round(values[2], 3))


def _entry(row: asyncpg.Record) -> ProviderTelemetry:
    latency = _percentiles(row["latency"]) or Percentiles(p50=0.0, p95=0.0, p99=0.0)
    return ProviderTelemetry(
        provider=row["provider"],
        count=row["requests"],
        error_count=row["errors"],
        latency_ms=latency,
        ttfb_ms=_percentiles(row["ttfb"]),
    )


async def _backlog(request: Request[Any, Any, Any]) -> int | None:
    try:
        async with asyncio.timeout(1.0):
            return await UsageStream(control_state(request).redis).backlog()
    except Exception:  # the backlog is a hint; its absence must not fail the summary
        return None


@get("/api/telemetry/summary", tags=["monitoring"])
async def telemetry_summary(request: Request[Any, Any, Any], window: FromQuery[Window] = "1h") -> TelemetrySummary:
    """Latency p50/p95/p99, request and error counts per provider over `window` (cluster-wide, lags ingest)."""
    seconds = _WINDOW_SECONDS[window]
    until = datetime.now(UTC)
    since = until - timedelta(seconds=seconds)
    rows = await control_state(request).pool.fetch(_SUMMARY, since, until)
    providers = [_entry(row) for row in rows if not row["is_total"]]
    totals = [_entry(row) for row in rows if row["is_total"]]
    return TelemetrySummary(
        window=window,
        window_seconds=seconds,
        since=since,
        until=until,
        source="usage_events (stored by the usage workers from every edge)",
        ingest_backlog=await _backlog(request),
        providers=providers,
        total=totals[0] if totals and totals[0].count else None,
    )
