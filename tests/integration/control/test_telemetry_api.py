"""GET /api/telemetry/summary over usage_events rows as the workers store them, against real Postgres."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.kv import keys


def percentile_cont(values: list[float], fraction: float) -> float:
    """Postgres's continuous percentile: linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def store(
    pool: asyncpg.Pool,
    provider: str | None,
    latency_ms: float,
    status: int = 200,
    age: timedelta = timedelta(seconds=30),
    ttfb_ms: float | None = None,
) -> None:
    await pool.execute(
        """INSERT INTO usage_events (request_id, ts, endpoint, status, provider, latency_ms, ttfb_ms)
           VALUES ($1, $2, '/v1/chat/completions', $3, $4, $5, $6)""",
        uuid.uuid4().hex,
        datetime.now(UTC) - age,
        status,
        provider,
        latency_ms,
        ttfb_ms,
    )


async def summary(admin: AsyncTestClient, window: str | None = None) -> dict[str, Any]:
    params = {"window": window} if window else {}
    response = await admin.get("/api/telemetry/summary", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_no_requests_no_rows(admin: AsyncTestClient) -> None:
    answer = await summary(admin)
    assert answer["window"] == "1h"
    assert answer["windowSeconds"] == 3600
    assert answer["providers"] == []
    assert answer["total"] is None
    assert answer["ingestBacklog"] == 0
    assert "usage_events" in answer["source"]


async def test_percentiles_counts_and_errors_per_provider(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    openai = [float(v) for v in (12, 15, 20, 22, 30, 45, 60, 80, 120, 400)]
    for index, latency in enumerate(openai):
        await store(pool, "openai", latency, status=502 if index in (3, 7) else 200, ttfb_ms=latency / 2)
    for latency in (100.0, 300.0):
        await store(pool, "anthropic", latency, status=200)
    await store(pool, None, 1.0, status=401)  # refused before routing: only in the total
    await store(pool, "openai", 9999.0, age=timedelta(hours=2))  # outside the window

    answer = await summary(admin, "1h")
    by_provider = {entry["provider"]: entry for entry in answer["providers"]}
    assert set(by_provider) == {"openai", "anthropic", None}
    first = by_provider["openai"]
    assert first["count"] == 10
    assert first["errorCount"] == 2
    for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert first["latencyMs"][name] == pytest.approx(percentile_cont(openai, fraction), abs=0.01)
        assert first["ttfbMs"][name] == pytest.approx(percentile_cont([v / 2 for v in openai], fraction), abs=0.01)
    second = by_provider["anthropic"]
    assert second["count"] == 2
    assert second["errorCount"] == 0
    assert second["latencyMs"]["p50"] == pytest.approx(200.0)
    assert second["ttfbMs"] is None  # nothing recorded a first byte
    assert by_provider[None]["errorCount"] == 1
    assert answer["total"]["count"] == 13
    assert answer["total"]["errorCount"] == 3

    wider = await summary(admin, "24h")
    assert {e["provider"]: e["count"] for e in wider["providers"]}["openai"] == 11
    assert wider["total"]["count"] == 14
    narrow = await summary(admin, "5m")
    assert narrow["total"]["count"] == 13  # all stored 30 s ago


async def test_the_backlog_counts_events_not_yet_stored(admin: AsyncTestClient, redis: Redis) -> None:
    await redis.xadd(keys.USAGE_STREAM, {"e": b"{}"})
    await redis.xadd(keys.USAGE_STREAM, {"e": b"{}"})
    assert (await summary(admin))["ingestBacklog"] == 2


@pytest.mark.parametrize("window", ["2h", "", "1H", "5m;DROP TABLE usage_events", "-1h", "0"])
async def test_a_bad_window_is_a_400_naming_it(admin: AsyncTestClient, pool: asyncpg.Pool, window: str) -> None:
    response = await admin.get("/api/telemetry/summary", params={"window": window})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == "window"
    assert await pool.fetchval("SELECT count(*) FROM usage_events") == 0  # still there, still empty
