"""Migration 0005 rolls up the usage rows stored before it, so history covers them too."""

from __future__ import annotations

import asyncpg
import pytest

from services.control.db import migrate as migrate_module
from services.control.db.migrate import load_migrations, migrate
from tests.support.db import drop_database
from tests.support.env import database_url
from tests.support.usage_rollups import assert_rollups_match, rollup_queries

DATABASE = "omniroute_it_backfill"
ROLLUPS = 5


async def test_rows_stored_before_the_rollup_migration_are_rolled_up(monkeypatch: pytest.MonkeyPatch) -> None:
    await drop_database(DATABASE)
    url = database_url(DATABASE)
    every = load_migrations()
    monkeypatch.setattr(migrate_module, "load_migrations", lambda: [m for m in every if m.version < ROLLUPS])
    await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(
            """INSERT INTO usage_events (request_id, ts, endpoint, status, provider, model, tokens_in, cost_micros,
                   latency_ms) VALUES ($1, now() - make_interval(hours => $2), 'chat.completions', $3, 'openai',
                   'gpt-4o-mini', $2, 10, 1.5)""",
            [(f"old-{i}", i % 30, 500 if i % 7 == 0 else 200) for i in range(50)],
        )
        monkeypatch.setattr(migrate_module, "load_migrations", lambda: every)
        assert ROLLUPS in await migrate(url)
        for raw_query, args, rolled_query in rollup_queries():
            assert_rollups_match(await conn.fetch(raw_query, *args), await conn.fetch(rolled_query))
        assert await conn.fetchval("SELECT sum(requests) FROM usage_daily") == 50
    finally:
        await conn.close()
        await drop_database(DATABASE)
