"""Hourly and daily roll-ups and worker-side pricing, on the real Postgres and Redis."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
from redis.asyncio import Redis

from services.workers.usage_ingest import UsageIngestor
from services.workers.usage_store import insert_events
from shared.kv.usage_stream import UsageEvent, UsageStream
from tests.support.usage_rollups import assert_rollups_match, rollup_queries

KEYS = [str(uuid.uuid4()), str(uuid.uuid4())]
CONNECTION = str(uuid.uuid4())
# 23:30 and 00:30 UTC: two hours and two days.
LATE = datetime(2026, 3, 1, 23, 30, tzinfo=UTC).timestamp()
EARLY = datetime(2026, 3, 2, 0, 30, tzinfo=UTC).timestamp()


def event(i: int, **fields: object) -> UsageEvent:
    base: dict[str, object] = {
        "request_id": f"roll-{i}",
        "ts": LATE if i % 2 else EARLY,
        "endpoint": "chat.completions",
        "status": 502 if i % 5 == 0 else 200,
        "api_key_id": KEYS[i % 2],
        "provider": "openai" if i % 3 else "anthropic",
        "connection_id": CONNECTION if i % 4 else None,
        "model": "gpt-4o-mini" if i % 3 else None,
        "tokens_in": 10 + i,
        "tokens_out": i,
        "tokens_cached": i % 4,
        "tokens_reasoning": i % 3,
        "cost_micros": 7 * i + 1,
        "latency_ms": 0.1 + i * 1.37,
    }
    base.update(fields)
    return UsageEvent(**base)  # type: ignore[arg-type]


async def check_rollups(pool: asyncpg.Pool) -> None:
    for raw_query, args, rolled_query in rollup_queries():
        assert_rollups_match(await pool.fetch(raw_query, *args), await pool.fetch(rolled_query))


async def test_rollups_add_up_to_the_raw_rows_through_redelivery(pool: asyncpg.Pool, clean_db: None) -> None:
    batch = [event(i) for i in range(60)]
    assert await insert_events(pool, batch[:40]) == 40
    assert await insert_events(pool, batch[20:] + batch[:5]) == 20  # redelivered rows are not counted again
    await check_rollups(pool)
    hourly = await pool.fetchval("SELECT sum(requests) FROM usage_hourly")
    daily = await pool.fetchval("SELECT sum(requests) FROM usage_daily")
    assert (hourly, daily) == (60, 60)
    buckets = await pool.fetch("SELECT DISTINCT bucket FROM usage_daily ORDER BY bucket")
    assert [b["bucket"] for b in buckets] == [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)]
    errors = await pool.fetchval("SELECT sum(errors) FROM usage_hourly")
    assert errors == 12


async def test_concurrent_consumers_with_overlapping_deliveries_count_once(
    pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    stream = UsageStream(redis)
    await stream.ensure_group()
    batch = [event(i) for i in range(300)]
    for start in range(0, 300, 50):
        await stream.append(batch[start : start + 50])
        await stream.append(batch[max(0, start - 10) : start + 5])  # edges retrying appends
    workers = [UsageIngestor(pool, redis, f"w{i}", batch_size=37) for i in range(3)]

    async def drain(ingestor: UsageIngestor) -> None:
        while await ingestor.run_once(block_ms=50):
            pass

    await asyncio.gather(*(drain(w) for w in workers))
    assert await pool.fetchval("SELECT count(*) FROM usage_events") == 300
    await check_rollups(pool)
    assert await pool.fetchval("SELECT sum(requests) FROM usage_daily") == 300


async def test_the_worker_prices_events_that_arrive_without_a_cost(pool: asyncpg.Pool, clean_db: None) -> None:
    unpriced = event(
        1,
        request_id="cost-catalog",
        cost_micros=0,
        tokens_in=1_000_000,
        tokens_cached=0,
        tokens_out=1_000_000,
        tokens_reasoning=0,
    )
    kept = event(2, request_id="cost-kept", cost_micros=42, tokens_in=1_000_000)
    unknown = event(3, request_id="cost-unknown", cost_micros=0, provider="ollama", model="llama3")
    overridden = event(
        4,
        request_id="cost-override",
        cost_micros=0,
        model="gpt-4o",
        tokens_in=2_000_000,
        tokens_cached=1_000_000,
        tokens_out=1_000_000,
        tokens_reasoning=500_000,
    )
    await pool.execute(
        """INSERT INTO pricing (provider, model, input_per_million, output_per_million, cached_per_million,
           reasoning_per_million) VALUES ('openai', 'gpt-4o', 1, 2, 0.5, 4)"""
    )
    assert await insert_events(pool, [unpriced, kept, unknown, overridden]) == 4
    costs = dict(await pool.fetch("SELECT request_id, cost_micros FROM usage_events"))
    assert costs == {
        "cost-catalog": 750_000,  # gpt-4o-mini from the catalog: $0.15 in + $0.60 out per 1M
        "cost-kept": 42,  # the edge's cost is authoritative
        "cost-unknown": 0,  # no price anywhere
        "cost-override": 1_000_000 + 500_000 + 1_000_000 + 2_000_000,  # /api/pricing override wins
    }
    await check_rollups(pool)
