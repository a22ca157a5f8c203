"""Store a batch of usage events and add them to the hourly and daily roll-ups, in one statement.

The raw insert is `ON CONFLICT (request_id) DO NOTHING ... RETURNING`, and the roll-ups add up only
the rows it returned: an event delivered twice is inserted once and counted once, and the roll-ups
always equal the sums over the raw rows (one statement is one transaction). Buckets are UTC.
Events are sorted by request id and roll-up rows by their key, so two workers storing overlapping
batches take their locks in the same order and do not deadlock.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.workers.usage_cost import fill_missing_costs
from shared.kv.usage_stream import UsageEvent

__all__ = ["insert_events"]


# Spelled out in full (no string building): values only ever travel as $n parameters.
_INSERT = """WITH new AS (
    INSERT INTO usage_events (
        request_id, ts, endpoint, status, api_key_id, provider, connection_id, model, requested_model, stream,
        tokens_in, tokens_out, tokens_cached, tokens_reasoning, cost_micros, latency_ms, ttfb_ms, cache,
        fallback_attempts, error_code)
    SELECT * FROM unnest(
        $1::text[], $2::timestamptz[], $3::text[], $4::smallint[], $5::uuid[], $6::text[], $7::uuid[], $8::text[],
        $9::text[], $10::boolean[], $11::integer[], $12::integer[], $13::integer[], $14::integer[], $15::bigint[],
        $16::real[], $17::real[], $18::text[], $19::smallint[], $20::text[])
    ON CONFLICT (request_id) DO NOTHING
    RETURNING ts, status, api_key_id, provider, model, connection_id, tokens_in, tokens_out, tokens_cached,
        tokens_reasoning, cost_micros, latency_ms
),
usage_hourly_added AS (
    INSERT INTO usage_hourly AS r (bucket, api_key_id, provider, model, connection_id, requests, errors, tokens_in,
        tokens_out, tokens_cached, tokens_reasoning, cost_micros, latency_ms_sum, latency_ms_max)
    SELECT date_trunc('hour', ts, 'UTC'), api_key_id, provider, model, connection_id, count(*),
        count(*) FILTER (WHERE status >= 400), sum(tokens_in), sum(tokens_out), sum(tokens_cached),
        sum(tokens_reasoning), sum(cost_micros), sum(latency_ms::numeric), max(latency_ms)
    FROM new GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, api_key_id, provider, model, connection_id) DO UPDATE SET
        requests = r.requests + EXCLUDED.requests,
        errors = r.errors + EXCLUDED.errors,
        tokens_in = r.tokens_in + EXCLUDED.tokens_in,
        tokens_out = r.tokens_out + EXCLUDED.tokens_out,
        tokens_cached = r.tokens_cached + EXCLUDED.tokens_cached,
        tokens_reasoning = r.tokens_reasoning + EXCLUDED.tokens_reasoning,
        cost_micros = r.cost_micros + EXCLUDED.cost_micros,
        latency_ms_sum = r.latency_ms_sum + EXCLUDED.latency_ms_sum,
        latency_ms_max = greatest(r.latency_ms_max, EXCLUDED.latency_ms_max)
    RETURNING 1),
usage_daily_added AS (
    INSERT INTO usage_daily AS r (bucket, api_key_id, provider, model, connection_id, requests, errors, tokens_in,
        tokens_out, tokens_cached, tokens_reasoning, cost_micros, latency_ms_sum, latency_ms_max)
    SELECT date_trunc('day', ts, 'UTC'), api_key_id, provider, model, connection_id, count(*),
        count(*) FILTER (WHERE status >= 400), sum(tokens_in), sum(tokens_out), sum(tokens_cached),
        sum(tokens_reasoning), sum(cost_micros), sum(latency_ms::numeric), max(latency_ms)
    FROM new GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, api_key_id, provider, model, connection_id) DO UPDATE SET
        requests = r.requests + EXCLUDED.requests,
        errors = r.errors + EXCLUDED.errors,
        tokens_in = r.tokens_in + EXCLUDED.tokens_in,
        tokens_out = r.tokens_out + EXCLUDED.tokens_out,
        tokens_cached = r.tokens_cached + EXCLUDED.tokens_cached,
        tokens_reasoning = r.tokens_reasoning + EXCLUDED.tokens_reasoning,
        cost_micros = r.cost_micros + EXCLUDED.cost_micros,
        latency_ms_sum = r.latency_ms_sum + EXCLUDED.latency_ms_sum,
        latency_ms_max = greatest(r.latency_ms_max, EXCLUDED.latency_ms_max)
    RETURNING 1)
SELECT (SELECT count(*) FROM new) AS inserted,
       (SELECT count(*) FROM usage_hourly_added) + (SELECT count(*) FROM usage_daily_added) AS rolled
"""


def _columns(events: list[UsageEvent]) -> list[list[object]]:
    columns: list[list[object]] = [[] for _ in range(20)]
    for e in sorted(events, key=lambda event: event.request_id):
        row = (
            e.request_id,
            datetime.fromtimestamp(e.ts, UTC),
            e.endpoint,
            e.status,
            e.api_key_id,
            e.provider,
            e.connection_id,
            e.model,
            e.requested_model,
            e.stream,
            e.tokens_in,
            e.tokens_out,
            e.tokens_cached,
            e.tokens_reasoning,
            e.cost_micros,
            e.latency_ms,
            e.ttfb_ms,
            e.cache,
            e.fallback_attempts,
            e.error_code,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


async def insert_events(pool: asyncpg.Pool, events: list[UsageEvent]) -> int:
    """Insert a batch and roll it up; returns how many rows were new."""
    if not events:
        return 0
    events = await fill_missing_costs(pool, events)
    row = await pool.fetchrow(_INSERT, *_columns(events))
    assert row is not None
    return int(row["inserted"])
