"""SQL for combos."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = ["delete", "fetch", "fetch_all", "insert", "update"]


async def fetch(conn: Executor, ident: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow("SELECT * FROM combos WHERE id = $1 FOR UPDATE", ident)
    return await conn.fetchrow("SELECT * FROM combos WHERE id = $1", ident)


async def fetch_all(conn: Executor) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM combos ORDER BY name"))


async def insert(conn: Conn, ident: str, name: str, strategy: str, steps: list[Any], is_active: bool) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO combos (id, name, strategy, steps, is_active) VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        ident,
        name,
        strategy,
        steps,
        is_active,
    )
    assert row is not None
    return row


async def update(conn: Conn, ident: str, name: str, strategy: str, steps: list[Any], is_active: bool) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE combos SET name = $2, strategy = $3, steps = $4, is_active = $5, updated_at = now()
           WHERE id = $1 RETURNING *""",
        ident,
        name,
        strategy,
        steps,
        is_active,
    )
    assert row is not None
    return row


async def delete(conn: Conn, ident: str) -> None:
    await conn.execute("DELETE FROM combos WHERE id = $1", ident)
