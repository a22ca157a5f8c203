"""The request-log retention job against the real Postgres: only what is older than the setting goes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.workers.db import create_pool
from services.workers.jobs import usage_retention
from services.workers.jobs.usage_retention import prune_usage


@pytest.fixture
async def worker_pool(pg_url: str, clean_db: None) -> AsyncIterator[asyncpg.Pool]:
    """The pool the worker process runs with (jsonb decoded)."""
    pool = await create_pool(pg_url)
    yield pool
    await pool.close()


async def add_rows(pool: asyncpg.Pool, prefix: str, count: int, age_days: float) -> None:
    await pool.executemany(
        """INSERT INTO usage_events (request_id, ts, endpoint, status)
           VALUES ($1, now() - make_interval(secs => $2), 'chat.completions', 200)""",
        [(f"{prefix}-{i}", age_days * 86_400) for i in range(count)],
    )


async def remaining(pool: asyncpg.Pool, prefix: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM usage_events WHERE request_id LIKE $1", prefix + "-%"))


async def test_nothing_is_deleted_without_a_retention_setting(worker_pool: asyncpg.Pool) -> None:
    pool = worker_pool
    await add_rows(pool, "ancient", 3, age_days=4000)
    assert await prune_usage({"pool": pool}) == 0
    await pool.execute("""INSERT INTO settings (key, value) VALUES ('general', '{"usageRetentionDays": "x"}')""")
    assert await prune_usage({"pool": pool}) == 0  # a malformed row keeps everything
    assert await remaining(pool, "ancient") == 3


async def test_rows_older_than_the_setting_are_deleted_in_batches(
    worker_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = worker_pool
    await pool.execute("""INSERT INTO settings (key, value) VALUES ('general', '{"usageRetentionDays": 30}')""")
    await add_rows(pool, "old", 25, age_days=31)
    await add_rows(pool, "young", 5, age_days=29)
    monkeypatch.setattr(usage_retention, "BATCH_ROWS", 10)
    assert await prune_usage({"pool": pool}) == 25
    assert (await remaining(pool, "old"), await remaining(pool, "young")) == (0, 5)
    assert await prune_usage({"pool": pool}) == 0
