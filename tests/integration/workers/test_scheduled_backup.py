"""The scheduled backup job in arq burst mode on the real Redis and Postgres: one per interval, retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from arq import create_pool as create_arq_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func
from redis.asyncio import Redis

from services.workers.db import create_pool
from services.workers.jobs.measured import measured
from services.workers.jobs.scheduled_backup import interval_key, scheduled_backup
from services.workers.main import build_arq_worker
from shared import jsonx
from shared.backups.store import take_backup
from shared.settings import Settings
from tests.integration.conftest import REDIS_DB
from tests.support.env import redis_url

HOUR = 3600.0
T0 = 1_800_000_000.0  # a fixed instant; the job takes `now` so intervals are deterministic


@pytest.fixture
async def worker_pool(pg_url: str, clean_db: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_url)
    await pool.execute("TRUNCATE db_backups")
    yield pool
    await pool.close()


@pytest.fixture
async def arq_redis(redis: Redis) -> AsyncIterator[ArqRedis]:
    client = await create_arq_pool(
        RedisSettings.from_dsn(redis_url(REDIS_DB)), job_serializer=jsonx.dumps, job_deserializer=jsonx.loads
    )
    yield client
    await client.aclose()


async def run_burst(pool: asyncpg.Pool) -> None:
    worker = Worker(
        functions=[func(measured(scheduled_backup), name="scheduled_backup")],
        redis_settings=RedisSettings.from_dsn(redis_url(REDIS_DB)),
        burst=True,
        ctx={"pool": pool},
        job_serializer=jsonx.dumps,
        job_deserializer=jsonx.loads,
        handle_signals=False,
        poll_delay=0.05,
    )
    try:
        await worker.main()
    finally:
        await worker.close()


async def scheduled(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, job_key, kind, row_counts::text AS counts FROM db_backups WHERE kind = 'scheduled'"
        " ORDER BY created_at"
    )


async def set_general(pool: asyncpg.Pool, value: dict[str, Any]) -> None:
    await pool.execute(
        "INSERT INTO settings (key, value) VALUES ('general', $1) ON CONFLICT (key) DO UPDATE SET value = $1", value
    )


async def test_one_backup_per_interval_and_the_newest_k_kept(worker_pool: asyncpg.Pool, arq_redis: ArqRedis) -> None:
    pool = worker_pool
    await set_general(pool, {"backupIntervalHours": 6, "backupRetention": 2})
    await pool.execute(
        """INSERT INTO usage_events (request_id, ts, endpoint, status) VALUES ('sched-1', now(), 'chat', 200)"""
    )
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        manual = await take_backup(conn, "manual", keep=2)
    assert manual is not None
    # two runs in the first interval (one a retry under another job id), then three later intervals
    instants = [T0, T0 + 1 * HOUR, T0 + 6 * HOUR, T0 + 12 * HOUR, T0 + 18 * HOUR]
    taken_keys = []
    for index, now in enumerate(instants):
        job = await arq_redis.enqueue_job("scheduled_backup", now, _job_id=f"sched-test-{index}")
        assert job is not None
        await run_burst(pool)
        rows = await scheduled(pool)
        taken_keys = [row["job_key"] for row in rows]
    # four intervals had a backup; retention kept the newest two scheduled ones
    assert taken_keys == [interval_key(6, T0 + 12 * HOUR), interval_key(6, T0 + 18 * HOUR)]
    counts = jsonx.loads((await scheduled(pool))[-1]["counts"])
    assert counts["usage_events"] == 1 and "provider_connections" in counts
    # the manual backup is not touched by scheduled retention
    assert await pool.fetchval("SELECT count(*) FROM db_backups WHERE kind = 'manual'") == 1


async def test_the_same_job_id_runs_once_and_the_same_interval_backs_up_once(
    worker_pool: asyncpg.Pool, arq_redis: ArqRedis
) -> None:
    pool = worker_pool
    await set_general(pool, {"backupIntervalHours": 24})
    assert await arq_redis.enqueue_job("scheduled_backup", T0, _job_id="sched-dup") is not None
    assert await arq_redis.enqueue_job("scheduled_backup", T0, _job_id="sched-dup") is None  # arq refuses a duplicate
    await run_burst(pool)
    assert len(await scheduled(pool)) == 1
    # a second job in the same interval (another worker's cron slot) finds the interval done
    assert await arq_redis.enqueue_job("scheduled_backup", T0 + HOUR, _job_id="sched-other") is not None
    await run_burst(pool)
    assert len(await scheduled(pool)) == 1
    assert await scheduled_backup({"pool": pool}, T0 + 2 * HOUR) is None


async def test_scheduling_off_takes_nothing(worker_pool: asyncpg.Pool) -> None:
    await set_general(worker_pool, {"backupIntervalHours": None})
    assert await scheduled_backup({"pool": worker_pool}, T0) is None
    assert await scheduled(worker_pool) == []


async def test_defaults_back_up_daily(worker_pool: asyncpg.Pool) -> None:
    taken = await scheduled_backup({"pool": worker_pool}, T0)
    assert taken is not None
    assert [row["job_key"] for row in await scheduled(worker_pool)] == [interval_key(24, T0)]


def test_the_worker_schedules_the_backup_job(settings: Settings) -> None:
    worker = build_arq_worker(settings, {})
    assert any(job.name.endswith("scheduled_backup") for job in worker.cron_jobs)
