"""Configuration writes: one transaction that bumps the config version, then a snapshot publish.

Bumping the single `config_version` row inside every mutating transaction both versions the
change and serialises configuration writers, so snapshot versions are totally ordered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import asyncpg

from services.control.db.types import Conn

__all__ = ["ConfigWriter", "Publisher"]


class Publisher(Protocol):
    async def publish_latest(self) -> int | None: ...


class ConfigWriter:
    def __init__(self, pool: asyncpg.Pool, publisher: Publisher) -> None:
        self._pool = pool
        self._publisher = publisher

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """Yield a connection inside a transaction; on commit, publish the new snapshot."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE config_version SET version = version + 1 WHERE id = 1")
            yield conn
        # Only reached when the transaction committed.
        await self._publisher.publish_latest()
