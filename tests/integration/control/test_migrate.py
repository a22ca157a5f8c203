"""`omniroute migrate`: creates the database, applies once, refuses edited migrations."""

from __future__ import annotations

import asyncpg
import pytest

from services.control.db.migrate import MigrationError, load_migrations, migrate
from tests.support.db import drop_database
from tests.support.env import database_url

SCRATCH = "omniroute_migrate_scratch"


async def test_creates_the_database_and_is_idempotent() -> None:
    await drop_database(SCRATCH)
    url = database_url(SCRATCH)
    try:
        applied = await migrate(url)
        assert applied == [m.version for m in load_migrations()]
        assert await migrate(url) == []
        conn = await asyncpg.connect(url)
        try:
            tables = {
                r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            }
        finally:
            await conn.close()
        assert {
            "provider_connections",
            "api_keys",
            "combos",
            "model_aliases",
            "settings",
            "audit_log",
            "usage_events",
        } <= tables
    finally:
        await drop_database(SCRATCH)


async def test_an_edited_migration_is_refused() -> None:
    await drop_database(SCRATCH)
    url = database_url(SCRATCH)
    try:
        await migrate(url)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
        finally:
            await conn.close()
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(url)
    finally:
        await drop_database(SCRATCH)


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))
