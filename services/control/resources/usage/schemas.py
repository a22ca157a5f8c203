"""Response bodies of /api/usage: request rows, roll-up buckets and a connection's summary."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec

__all__ = [
    "ConnectionUsage",
    "HistoryBucket",
    "ModelUsage",
    "Period",
    "RequestLog",
    "RequestLogPage",
    "UsageHistory",
    "UsageLog",
    "UsageLogPage",
    "UsageTotals",
    "request_log",
    "totals",
    "usage_log",
]

Period = Literal["hour", "day"]


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


class RequestLog(UsageLog, kw_only=True, rename="camel"):
    """A usage row with the fields for debugging one request: exact cost and when it was stored."""

    cost_micros: int
    stored_at: datetime
    ingest_delay_ms: float  # from the request's arrival to the row landing in Postgres


class UsageLogPage(msgspec.Struct, kw_only=True):
    logs: list[UsageLog]
    total: int
    limit: int
    offset: int


class RequestLogPage(msgspec.Struct, kw_only=True):
    logs: list[RequestLog]
    total: int
    limit: int
    offset: int


class UsageTotals(msgspec.Struct, kw_only=True, rename="camel"):
    requests: int
    errors: int
    tokens_in: int
    tokens_out: int
    tokens_cached: int
    tokens_reasoning: int
    cost_micros: int
    cost_usd: float
    latency_ms_avg: float | None
    latency_ms_max: float | None


class HistoryBucket(UsageTotals, kw_only=True, rename="camel"):
    bucket: datetime  # start of the UTC hour or day


class UsageHistory(msgspec.Struct, kw_only=True):
    period: Period
    since: datetime
    until: datetime
    buckets: list[HistoryBucket]
    totals: UsageTotals


class ModelUsage(UsageTotals, kw_only=True, rename="camel"):
    model: str | None


class ConnectionUsage(msgspec.Struct, kw_only=True, rename="camel"):
    connection_id: str
    provider: str | None
    name: str | None  # None when the connection was deleted but its usage remains
    totals: UsageTotals  # all time, from the daily roll-ups
    last_24_hours: UsageTotals  # the current UTC hour and the 24 before it, from the hourly roll-ups
    models: list[ModelUsage]  # all time, per model
    recent: list[UsageLog]  # newest request rows


def totals(row: Mapping[str, Any] | asyncpg.Record | None) -> UsageTotals:
    return UsageTotals(**_totals_fields(row))


def _totals_fields(row: Mapping[str, Any] | asyncpg.Record | None) -> dict[str, Any]:
    requests = int(row["requests"] or 0) if row else 0
    if row is None or not requests:
        zero = dict.fromkeys(("errors", "tokens_in", "tokens_out", "tokens_cached", "tokens_reasoning"), 0)
        return {
            "requests": 0,
            **zero,
            "cost_micros": 0,
            "cost_usd": 0.0,
            "latency_ms_avg": None,
            "latency_ms_max": None,
        }
    cost = int(row["cost_micros"])
    return {
        "requests": requests,
        "errors": int(row["errors"]),
        "tokens_in": int(row["tokens_in"]),
        "tokens_out": int(row["tokens_out"]),
        "tokens_cached": int(row["tokens_cached"]),
        "tokens_reasoning": int(row["tokens_reasoning"]),
        "cost_micros": cost,
        "cost_usd": cost / 1_000_000,
        "latency_ms_avg": round(float(row["latency_ms_sum"]) / requests, 3),
        "latency_ms_max": float(row["latency_ms_max"]),
    }


def bucket(row: asyncpg.Record) -> HistoryBucket:
    return HistoryBucket(bucket=row["bucket"], **_totals_fields(row))


def model_usage(row: asyncpg.Record) -> ModelUsage:
    return ModelUsage(model=row["model"], **_totals_fields(row))


def _log_fields(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "request_id": row["request_id"],
        "timestamp": row["ts"],
        "endpoint": row["endpoint"],
        "status": row["status"],
        "api_key_id": str(row["api_key_id"]) if row["api_key_id"] else None,
        "provider": row["provider"],
        "connection_id": str(row["connection_id"]) if row["connection_id"] else None,
        "model": row["model"],
        "requested_model": row["requested_model"],
        "stream": row["stream"],
        "tokens_in": row["tokens_in"],
        "tokens_out": row["tokens_out"],
        "tokens_cached": row["tokens_cached"],
        "tokens_reasoning": row["tokens_reasoning"],
        "cost_usd": row["cost_micros"] / 1_000_000,
        "latency_ms": row["latency_ms"],
        "ttfb_ms": row["ttfb_ms"],
        "cache": row["cache"],
        "fallback_attempts": row["fallback_attempts"],
        "error_code": row["error_code"],
    }


def usage_log(row: asyncpg.Record) -> UsageLog:
    return UsageLog(**_log_fields(row))


def request_log(row: asyncpg.Record) -> RequestLog:
    delay = (row["inserted_at"] - row["ts"]).total_seconds() * 1000
    return RequestLog(
        **_log_fields(row),
        cost_micros=row["cost_micros"],
        stored_at=row["inserted_at"],
        ingest_delay_ms=round(max(0.0, delay), 3),
    )
