"""SQL of /api/usage, whole statements as literals: values only ever travel as $n parameters."""

from __future__ import annotations

__all__ = [
    "CONNECTION",
    "CONNECTION_MODELS",
    "CONNECTION_RECENT",
    "CONNECTION_SINCE",
    "CONNECTION_TOTALS",
    "HISTORY_DAILY",
    "HISTORY_HOURLY",
    "LOG_COUNT",
    "LOG_PAGE",
]

# Filters shared by the log queries: $1 key, $2 provider, $3 model, $4 since, $5 until, $6 connection, $7 status.
LOG_PAGE = """SELECT * FROM usage_events
    WHERE ($1::uuid IS NULL OR api_key_id = $1)
      AND ($2::text IS NULL OR provider = $2)
      AND ($3::text IS NULL OR model = $3)
      AND ($4::timestamptz IS NULL OR ts >= $4)
      AND ($5::timestamptz IS NULL OR ts < $5)
      AND ($6::uuid IS NULL OR connection_id = $6)
      AND ($7::smallint IS NULL OR status = $7)
    ORDER BY ts DESC, request_id DESC LIMIT $8 OFFSET $9"""
LOG_COUNT = """SELECT count(*) FROM usage_events
    WHERE ($1::uuid IS NULL OR api_key_id = $1)
      AND ($2::text IS NULL OR provider = $2)
      AND ($3::text IS NULL OR model = $3)
      AND ($4::timestamptz IS NULL OR ts >= $4)
      AND ($5::timestamptz IS NULL OR ts < $5)
      AND ($6::uuid IS NULL OR connection_id = $6)
      AND ($7::smallint IS NULL OR status = $7)"""

# History: $1 key, $2 provider, $3 model, $4 connection, $5 first bucket (inclusive), $6 until (exclusive).
HISTORY_HOURLY = """SELECT bucket, sum(requests) AS requests, sum(errors) AS errors, sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out, sum(tokens_cached) AS tokens_cached,
        sum(tokens_reasoning) AS tokens_reasoning, sum(cost_micros) AS cost_micros,
        sum(latency_ms_sum) AS latency_ms_sum, max(latency_ms_max) AS latency_ms_max
    FROM usage_hourly
    WHERE ($1::uuid IS NULL OR api_key_id = $1)
      AND ($2::text IS NULL OR provider = $2)
      AND ($3::text IS NULL OR model = $3)
      AND ($4::uuid IS NULL OR connection_id = $4)
      AND bucket >= $5 AND bucket < $6
    GROUP BY bucket ORDER BY bucket"""
HISTORY_DAILY = """SELECT bucket, sum(requests) AS requests, sum(errors) AS errors, sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out, sum(tokens_cached) AS tokens_cached,
        sum(tokens_reasoning) AS tokens_reasoning, sum(cost_micros) AS cost_micros,
        sum(latency_ms_sum) AS latency_ms_sum, max(latency_ms_max) AS latency_ms_max
    FROM usage_daily
    WHERE ($1::uuid IS NULL OR api_key_id = $1)
      AND ($2::text IS NULL OR provider = $2)
      AND ($3::text IS NULL OR model = $3)
      AND ($4::uuid IS NULL OR connection_id = $4)
      AND bucket >= $5 AND bucket < $6
    GROUP BY bucket ORDER BY bucket"""

# A connection (or provider node) by id; $1 the id.
CONNECTION = """SELECT provider, name FROM provider_connections WHERE id = $1
    UNION ALL SELECT prefix, name FROM provider_nodes WHERE id = $1
    UNION ALL (SELECT provider, NULL FROM usage_daily WHERE connection_id = $1 LIMIT 1)"""
CONNECTION_TOTALS = """SELECT sum(requests) AS requests, sum(errors) AS errors, sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out, sum(tokens_cached) AS tokens_cached,
        sum(tokens_reasoning) AS tokens_reasoning, sum(cost_micros) AS cost_micros,
        sum(latency_ms_sum) AS latency_ms_sum, max(latency_ms_max) AS latency_ms_max
    FROM usage_daily WHERE connection_id = $1"""
CONNECTION_SINCE = """SELECT sum(requests) AS requests, sum(errors) AS errors, sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out, sum(tokens_cached) AS tokens_cached,
        sum(tokens_reasoning) AS tokens_reasoning, sum(cost_micros) AS cost_micros,
        sum(latency_ms_sum) AS latency_ms_sum, max(latency_ms_max) AS latency_ms_max
    FROM usage_hourly WHERE connection_id = $1 AND bucket >= $2"""
CONNECTION_MODELS = """SELECT model, sum(requests) AS requests, sum(errors) AS errors, sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out, sum(tokens_cached) AS tokens_cached,
        sum(tokens_reasoning) AS tokens_reasoning, sum(cost_micros) AS cost_micros,
        sum(latency_ms_sum) AS latency_ms_sum, max(latency_ms_max) AS latency_ms_max
    FROM usage_daily WHERE connection_id = $1 GROUP BY model ORDER BY sum(requests) DESC, model LIMIT 200"""
CONNECTION_RECENT = """SELECT * FROM usage_events WHERE connection_id = $1 ORDER BY ts DESC, request_id DESC LIMIT $2"""
