"""SQL for provider_models (parameterised; no SQL is built from strings)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = ["COLUMNS", "delete", "fetch", "fetch_by_name", "fetch_page", "insert", "node_models", "update"]

COLUMNS = ("display_name", "kind", "hidden", "context_window", "max_output_tokens", "capabilities")


async def fetch(conn: Executor, ident: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow("SELECT * FROM provider_models WHERE id = $1 FOR UPDATE", ident)
    return await conn.fetchrow("SELECT * FROM provider_models WHERE id = $1", ident)


async def fetch_by_name(conn: Conn, provider: str, model: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM provider_models WHERE provider = $1 AND model = $2 FOR UPDATE", provider, model
    )


async def fetch_page(pool: Executor, provider: str | None, limit: int, offset: int) -> tuple[list[asyncpg.Record], int]:
    rows = await pool.fetch(
        """SELECT * FROM provider_models WHERE ($1::text IS NULL OR provider = $1)
           ORDER BY provider, model LIMIT $2 OFFSET $3""",
        provider,
        limit,
        offset,
    )
    total = await pool.fetchval(
        "SELECT count(*) FROM provider_models WHERE ($1::text IS NULL OR provider = $1)", provider
    )
    return list(rows), int(total)


async def node_models(conn: Executor) -> dict[str, tuple[str, ...]]:
    """Provider node prefix -> the models the node lists."""
    rows = await conn.fetch("SELECT prefix, models FROM provider_nodes")
    return {row["prefix"]: tuple(row["models"]) for row in rows}


async def insert(conn: Conn, ident: str, provider: str, model: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO provider_models
               (id, provider, model, display_name, kind, hidden, context_window, max_output_tokens, capabilities)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING *""",
        ident,
        provider,
        model,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def update(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE provider_models SET display_name = $2, kind = $3, hidden = $4, context_window = $5,
               max_output_tokens = $6, capabilities = $7, updated_at = now()
           WHERE id = $1
           RETURNING *""",
        ident,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def delete(conn: Conn, ident: str) -> None:
    await conn.execute("DELETE FROM provider_models WHERE id = $1", ident)
