"""The budget reconciliation job against the real Postgres and Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from arq import create_pool as create_queue
from arq.connections import RedisSettings
from arq.worker import Worker, func
from redis.asyncio import Redis

from services.workers.db import create_pool
from services.workers.jobs.budget_reconcile import reconcile_budgets
from services.workers.jobs.measured import measured
from shared import jsonx
from shared.kv.batch import RedisBatch
from shared.kv.budget import Budgets, BudgetView
from tests.integration.conftest import REDIS_DB
from tests.support.env import redis_url


@pytest.fixture
async def worker_pool(pg_url: str, clean_db: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_url)
    yield pool
    await pool.close()


async def add_key(pool: asyncpg.Pool, period: str, limit: int) -> str:
    key_id = str(uuid.uuid4())
    await pool.execute(
        "INSERT INTO api_keys (id, name, key_hash, key_prefix) VALUES ($1, 'k', $2, 'sk-')", key_id, key_id
    )
    await pool.execute(
        "INSERT INTO api_key_budgets (api_key_id, limit_micros, period) VALUES ($1, $2, $3)", key_id, limit, period
    )
    return key_id


async def add_usage(pool: asyncpg.Pool, key_id: str, cost: int, ts: datetime) -> None:
    await pool.execute(
        """INSERT INTO usage_events (request_id, ts, endpoint, status, api_key_id, cost_micros)
           VALUES ($1, $2, 'chat.completions', 200, $3, $4)""",
        str(uuid.uuid4()),
        ts,
        key_id,
        cost,
    )


async def status(redis: Redis, key_id: str, period: str) -> BudgetView:
    batch = RedisBatch(redis)
    slot = Budgets(redis).status(batch, key_id, period)
    await batch.run()
    return slot.value


async def test_counters_are_rebuilt_from_postgres_after_a_flush_and_reruns_change_nothing(
    worker_pool: asyncpg.Pool, redis: Redis
) -> None:
    now = datetime.now(UTC)
    daily = await add_key(worker_pool, "daily", 10_000_000)
    monthly = await add_key(worker_pool, "monthly", 10_000_000)
    await add_usage(worker_pool, daily, 1_500, now)
    await add_usage(worker_pool, daily, 2_500, now)
    await add_usage(worker_pool, daily, 9_999, now - timedelta(days=2))  # an earlier period
    await add_usage(worker_pool, monthly, 700, now)
    ctx = {"pool": worker_pool, "redis": redis}
    assert await reconcile_budgets(ctx) == 2
    assert (await status(redis, daily, "daily")).spent == 4_000
    assert (await status(redis, monthly, "monthly")).spent == 700
    assert await reconcile_budgets(ctx) == 2
    assert (await status(redis, daily, "daily")).spent == 4_000

    await redis.flushdb()
    assert (await status(redis, daily, "daily")).spent == 0
    await reconcile_budgets(ctx)
    assert (await status(redis, daily, "daily")).spent == 4_000


async def test_redis_ahead_of_postgres_is_kept(worker_pool: asyncpg.Pool, redis: Redis) -> None:
    """Requests settled in Redis whose usage events the stream has not delivered yet stay counted."""
    key_id = await add_key(worker_pool, "weekly", 10_000_000)
    await add_usage(worker_pool, key_id, 100, datetime.now(UTC))
    budgets, batch = Budgets(redis), RedisBatch(redis)
    budgets.reserve(batch, key_id, "r1", 900, 10_000_000, "weekly", 60_000)
    budgets.settle(batch, key_id, "r1", 800, "weekly")
    await batch.run()
    await reconcile_budgets({"pool": worker_pool, "redis": redis})
    assert (await status(redis, key_id, "weekly")).spent == 800


async def test_no_budgets_no_work(worker_pool: asyncpg.Pool, redis: Redis) -> None:
    assert await reconcile_budgets({"pool": worker_pool, "redis": redis}) == 0


async def test_the_job_runs_in_arq_burst_mode_once_per_job_id(worker_pool: asyncpg.Pool, redis: Redis) -> None:
    key_id = await add_key(worker_pool, "daily", 10_000_000)
    await add_usage(worker_pool, key_id, 321, datetime.now(UTC))
    settings = RedisSettings.from_dsn(redis_url(REDIS_DB))
    queue = await create_queue(settings, job_serializer=jsonx.dumps, job_deserializer=jsonx.loads)
    try:
        assert await queue.enqueue_job("reconcile_budgets", _job_id="budgets-test") is not None
        assert await queue.enqueue_job("reconcile_budgets", _job_id="budgets-test") is None  # one per job id
        worker = Worker(
            functions=[func(measured(reconcile_budgets), name="reconcile_budgets")],
            redis_settings=settings,
            ctx={"pool": worker_pool},
            burst=True,
            handle_signals=False,
            job_serializer=jsonx.dumps,
            job_deserializer=jsonx.loads,
        )
        await worker.async_run()
        assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
        await worker.close()
    finally:
        await queue.aclose()
    assert (await status(redis, key_id, "daily")).spent == 321
