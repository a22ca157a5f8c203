"""The worker's Postgres pool (the control plane owns the schema; workers read, insert, and prune old logs)."""

from __future__ import annotations

import asyncpg

from shared import jsonx

__all__ = ["create_pool"]


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=jsonx.dumps_str, decoder=jsonx.loads)


async def create_pool(database_url: str, min_size: int = 1, max_size: int = 4) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30
    )
    assert pool is not None
    return pool
