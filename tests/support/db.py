"""A fresh, migrated database per test session."""

from __future__ import annotations

import asyncpg

from services.control.db.migrate import migrate
from tests.support.env import PG_ROOT, database_name, database_url


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(f"{PG_ROOT}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_name(name)}" WITH (FORCE)')
    finally:
        await admin.close()


async def fresh_database(name: str) -> str:
    await drop_database(name)
    url = database_url(name)
    await migrate(url)
    return url
