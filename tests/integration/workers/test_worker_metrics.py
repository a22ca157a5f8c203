"""The worker's /metrics on real Redis and Postgres: job runs, failures and durations per job name
(the real cron jobs, run by arq in burst mode), and the usage stream's lag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from redis.asyncio import Redis

from services.workers.jobs.measured import measured
from services.workers.main import build_arq_worker
from services.workers.ops_server import start_ops_server
from services.workers.usage_ingest import UsageIngestor
from shared.kv.usage_stream import UsageEvent, UsageStream
from shared.settings import Settings
from tests.support.env import free_port


@pytest.fixture
async def ops(pool: asyncpg.Pool, redis: Redis) -> AsyncIterator[str]:
    port = free_port()
    runner: web.AppRunner = await start_ops_server("127.0.0.1", port, pool, redis)
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def sample(samples: dict[str, float], name: str) -> float:
    return samples.get(name, 0.0)


async def test_cron_jobs_are_counted_and_timed_under_their_names(
    ops: str, settings: Settings, pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    before = await scrape(ops)
    ingestor = UsageIngestor(pool, redis, "metrics-test")
    worker = build_arq_worker(settings, {"pool": pool, "usage_ingestor": ingestor})
    worker.burst = True
    await asyncio.wait_for(worker.main(), timeout=30)
    await worker.close()
    after = await scrape(ops)
    for job in ("report_usage_lag", "prune_usage"):
        runs = f'omniroute_job_runs_total{{job="{job}",result="ok"}}'
        # at least the run at start-up (a 10-second slot may fall inside the burst too)
        assert sample(after, runs) >= sample(before, runs) + 1, job
        count = f'omniroute_job_duration_seconds_count{{job="{job}"}}'
        assert sample(after, count) - sample(before, count) == sample(after, runs) - sample(before, runs), job


async def test_a_failing_job_is_counted_as_failed(ops: str) -> None:
    async def exploding_job(ctx: dict[str, object]) -> None:
        raise RuntimeError("boom")

    before = await scrape(ops)
    with pytest.raises(RuntimeError):
        await measured(exploding_job)({})
    after = await scrape(ops)
    failed = 'omniroute_job_runs_total{job="exploding_job",result="failed"}'
    assert sample(after, failed) == sample(before, failed) + 1
    assert sample(after, 'omniroute_job_duration_seconds_count{job="exploding_job"}') >= 1


async def test_usage_stream_lag_counts_backlog_pending_and_oldest_age(
    ops: str, pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    stream = UsageStream(redis)
    ingestor = UsageIngestor(pool, redis, "lag-test")
    lag = await ingestor.lag()  # no stream, no group yet
    assert (lag.backlog, lag.pending, lag.oldest_age_seconds) == (0, 0, 0.0)
    await stream.ensure_group()
    events = [
        UsageEvent(request_id=f"lag-{i}", ts=time.time(), endpoint="chat.completions", status=200) for i in range(5)
    ]
    await stream.append(events)
    await stream.read_new("a-slow-worker", count=2, block_ms=10)  # read, not yet acknowledged
    await asyncio.sleep(0.3)
    lag = await ingestor.lag()
    assert (lag.backlog, lag.pending) == (5, 2)
    assert 0.25 <= lag.oldest_age_seconds < 5
    samples = await scrape(ops)
    assert samples["omniroute_usage_stream_lag"] == 5
    assert samples["omniroute_usage_stream_pending"] == 2
    assert samples["omniroute_usage_stream_oldest_age_seconds"] >= 0.25
    await ingestor._ensure_group()
    while await ingestor.run_once(block_ms=10):
        pass
    lag = await ingestor.lag()  # the three unread ones are stored; the slow worker's two wait for a claim
    assert (lag.backlog, lag.pending) == (2, 2)
    assert lag.oldest_age_seconds >= 0.25


async def test_the_usage_consumer_counts_its_rounds_and_failed_rounds(
    ops: str, pg_url: str, pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    ok = 'omniroute_job_runs_total{job="usage_ingest",result="ok"}'
    failed = 'omniroute_job_runs_total{job="usage_ingest",result="failed"}'
    before = await scrape(ops)
    stream = UsageStream(redis)
    await stream.ensure_group()
    await stream.append([UsageEvent(request_id="round-1", ts=time.time(), endpoint="chat.completions", status=200)])
    closed = await asyncpg.create_pool(pg_url, min_size=1, max_size=1)
    await closed.close()  # Postgres "unreachable": the round fails, the entry stays pending
    broken = asyncio.create_task(UsageIngestor(closed, redis, "broken", claim_idle_ms=100).run())
    await asyncio.sleep(0.5)
    broken.cancel()
    healthy = asyncio.create_task(UsageIngestor(pool, redis, "healthy", claim_idle_ms=100).run())
    for _ in range(100):
        if await pool.fetchval("SELECT count(*) FROM usage_events WHERE request_id = 'round-1'"):
            break
        await asyncio.sleep(0.05)
    healthy.cancel()
    after = await scrape(ops)
    assert sample(after, failed) >= sample(before, failed) + 1
    assert sample(after, ok) >= sample(before, ok) + 1
    assert sample(after, 'omniroute_job_duration_seconds_count{job="usage_ingest"}') >= 1
