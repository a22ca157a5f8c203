"""SQL for routing policies."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = ["COLUMNS", "delete", "fetch", "fetch_all", "insert", "update"]

COLUMNS = (
    "name",
    "priority",
    "enabled",
    "models",
    "key_ids",
    "days",
    "hour_from",
    "hour_to",
    "effect",
    "prefer_providers",
    "max_tokens",
)


async def fetch(conn: Executor, ident: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow("SELECT * FROM policies WHERE id = $1 FOR UPDATE", ident)
    return await conn.fetchrow("SELECT * FROM policies WHERE id = $1", ident)


async def fetch_all(conn: Executor) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM policies ORDER BY priority, name, id"))


async def insert(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO policies (id, name, priority, enabled, models, key_ids, days, hour_from, hour_to, effect,
                                 prefer_providers, max_tokens)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *""",
        ident,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def update(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE policies SET name = $2, priority = $3, enabled = $4, models = $5, key_ids = $6, days = $7,
                  hour_from = $8, hour_to = $9, effect = $10, prefer_providers = $11, max_tokens = $12,
                  updated_at = now()
           WHERE id = $1 RETURNING *""",
        ident,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def delete(conn: Conn, ident: str) -> None:
    await conn.execute("DELETE FROM policies WHERE id = $1", ident)
