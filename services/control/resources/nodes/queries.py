"""SQL for provider nodes."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = ["COLUMNS", "delete", "fetch", "fetch_all", "insert", "update"]

COLUMNS = ("prefix", "name", "type", "base_url", "api_key_enc", "models", "is_active")


async def fetch(conn: Executor, ident: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow("SELECT * FROM provider_nodes WHERE id = $1 FOR UPDATE", ident)
    return await conn.fetchrow("SELECT * FROM provider_nodes WHERE id = $1", ident)


async def fetch_all(conn: Executor) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM provider_nodes ORDER BY prefix"))


async def insert(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO provider_nodes (id, prefix, name, type, base_url, api_key_enc, models, is_active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        ident,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def update(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE provider_nodes SET prefix = $2, name = $3, type = $4, base_url = $5, api_key_enc = $6,
                  models = $7, is_active = $8, updated_at = now()
           WHERE id = $1 RETURNING *""",
        ident,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def delete(conn: Conn, ident: str) -> None:
    await conn.execute("DELETE FROM provider_nodes WHERE id = $1", ident)
