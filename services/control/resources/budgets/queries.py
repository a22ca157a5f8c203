"""SQL for per-key budgets (parameterised; no SQL is built from strings)."""

from __future__ import annotations

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = ["all_budgets", "delete", "fetch", "key_exists", "upsert"]

# Whole statements as literals: values only ever travel as $n parameters.
_ALL = """SELECT b.api_key_id, b.limit_micros, b.period, b.updated_at, k.name
    FROM api_key_budgets b JOIN api_keys k ON k.id = b.api_key_id ORDER BY k.name, b.api_key_id"""
_ONE = """SELECT b.api_key_id, b.limit_micros, b.period, b.updated_at, k.name
    FROM api_key_budgets b JOIN api_keys k ON k.id = b.api_key_id WHERE b.api_key_id = $1 FOR UPDATE OF b"""


async def all_budgets(pool: Executor) -> list[asyncpg.Record]:
    return list(await pool.fetch(_ALL))


async def fetch(conn: Conn, key_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_ONE, key_id)


async def key_exists(conn: Conn, key_id: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)", key_id))


async def upsert(conn: Conn, key_id: str, limit_micros: int, period: str) -> None:
    await conn.execute(
        """INSERT INTO api_key_budgets (api_key_id, limit_micros, period) VALUES ($1, $2, $3)
           ON CONFLICT (api_key_id) DO UPDATE SET
               limit_micros = EXCLUDED.limit_micros, period = EXCLUDED.period, updated_at = now()""",
        key_id,
        limit_micros,
        period,
    )


async def delete(conn: Conn, key_id: str) -> None:
    await conn.execute("DELETE FROM api_key_budgets WHERE api_key_id = $1", key_id)
