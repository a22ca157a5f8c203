"""Check that the usage roll-ups add up exactly to the raw usage_events rows."""

from __future__ import annotations

from typing import Any

_FROM_RAW = """SELECT date_trunc($1, ts, 'UTC') AS bucket, api_key_id, provider, model, connection_id,
    count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors, sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out, sum(tokens_cached) AS tokens_cached, sum(tokens_reasoning) AS tokens_reasoning,
    sum(cost_micros) AS cost_micros, sum(latency_ms::numeric) AS latency_ms_sum, max(latency_ms) AS latency_ms_max
    FROM usage_events GROUP BY 1, 2, 3, 4, 5"""
_HOURLY = """SELECT bucket, api_key_id, provider, model, connection_id, requests, errors, tokens_in, tokens_out,
    tokens_cached, tokens_reasoning, cost_micros, latency_ms_sum, latency_ms_max FROM usage_hourly"""
_DAILY = """SELECT bucket, api_key_id, provider, model, connection_id, requests, errors, tokens_in, tokens_out,
    tokens_cached, tokens_reasoning, cost_micros, latency_ms_sum, latency_ms_max FROM usage_daily"""


def _keyed(rows: list[Any]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(row[:5]): tuple(int(v) if i < 13 else v for i, v in enumerate(row) if i >= 5) for row in rows}


def rollup_queries() -> list[tuple[str, tuple[Any, ...], str]]:
    """(raw query, its args, roll-up query) per period, for a sync or async runner."""
    return [(_FROM_RAW, ("hour",), _HOURLY), (_FROM_RAW, ("day",), _DAILY)]


def assert_rollups_match(raw: list[Any], rolled: list[Any]) -> None:
    expected, found = _keyed(raw), _keyed(rolled)
    assert found == expected
