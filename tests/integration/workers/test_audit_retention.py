"""The audit-log retention job, run by an arq worker in burst mode against the real Postgres and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis

from services.workers import batched_delete
from services.workers.db import create_pool
from services.workers.jobs import audit_retention
from services.workers.jobs.audit_retention import prune_audit_log
from services.workers.jobs.measured import measured
from tests.integration.conftest import REDIS_DB
from tests.integration.workers.arq_support import run_burst
from tests.support.env import redis_url

URL = redis_url(REDIS_DB)


@pytest.fixture
async def worker_pool(pg_url: str, clean_db: None, redis: Redis) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_url)
    yield pool
    await pool.close()


async def add_rows(pool: asyncpg.Pool, action: str, count: int, age_days: float) -> None:
    await pool.executemany(
        """INSERT INTO audit_log (ts, actor, action) VALUES (now() - make_interval(secs => $1), 'test', $2)""",
        [(age_days * 86_400, action) for _ in range(count)],
    )


async def remaining(pool: asyncpg.Pool, action: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = $1", action))


async def test_the_default_keeps_a_year_and_deletes_older_rows_in_batches(
    worker_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = worker_pool
    await add_rows(pool, "old", 23, age_days=366)
    await add_rows(pool, "young", 4, age_days=364)
    monkeypatch.setattr(audit_retention, "BATCH_ROWS", 5)
    monkeypatch.setattr(batched_delete, "MAX_BATCHES", 2)  # a run stops after two batches of five
    assert await run_burst(URL, measured(prune_audit_log), {"pool": pool}) == 10
    assert await remaining(pool, "old") == 13
    monkeypatch.setattr(batched_delete, "MAX_BATCHES", 200)
    assert await run_burst(URL, measured(prune_audit_log), {"pool": pool}) == 13  # the next run continues
    assert (await remaining(pool, "old"), await remaining(pool, "young")) == (0, 4)
    assert await prune_audit_log({"pool": pool}) == 0  # idempotent: nothing left to delete


async def test_the_setting_moves_the_cutoff_and_null_keeps_everything(worker_pool: asyncpg.Pool) -> None:
    pool = worker_pool
    await add_rows(pool, "ancient", 3, age_days=4000)
    await add_rows(pool, "month", 2, age_days=45)
    await pool.execute("""INSERT INTO settings (key, value) VALUES ('general', '{"auditRetentionDays": null}')""")
    assert await run_burst(URL, measured(prune_audit_log), {"pool": pool}) == 0
    assert await remaining(pool, "ancient") == 3
    await pool.execute("""UPDATE settings SET value = '{"auditRetentionDays": 30}' WHERE key = 'general'""")
    assert await prune_audit_log({"pool": pool}) == 5
    await pool.execute("""UPDATE settings SET value = '{"auditRetentionDays": "x"}' WHERE key = 'general'""")
    await add_rows(pool, "ancient", 1, age_days=4000)
    assert await prune_audit_log({"pool": pool}) == 0  # a malformed row deletes nothing
