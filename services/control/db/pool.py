"""The asyncpg pool, with JSON columns decoded through shared.jsonx."""

from __future__ import annotations

import asyncpg

from shared import jsonx

__all__ = ["create_pool"]


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, schema="pg_catalog", encoder=jsonx.dumps_str, decoder=jsonx.loads, format="text"
        )


async def create_pool(database_url: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30
    )
    assert pool is not None
    return pool
