"""SQL for provider connections (parameterised; no SQL is built from strings)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = ["COLUMNS", "count", "delete", "fetch", "fetch_page", "insert", "update"]

COLUMNS = (
    "provider",
    "name",
    "auth_type",
    "api_key_enc",
    "base_url",
    "priority",
    "is_active",
    "default_model",
    "models",
    "provider_specific_data",
    "max_requests_per_minute",
    "max_requests_per_day",
    "max_tokens_per_minute",
    "max_concurrent",
)


async def fetch(conn: Executor, ident: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow("SELECT * FROM provider_connections WHERE id = $1 FOR UPDATE", ident)
    return await conn.fetchrow("SELECT * FROM provider_connections WHERE id = $1", ident)


async def fetch_page(pool: Executor, provider: str | None, limit: int, offset: int) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            """SELECT * FROM provider_connections
               WHERE ($1::text IS NULL OR provider = $1)
               ORDER BY provider, priority, name, id LIMIT $2 OFFSET $3""",
            provider,
            limit,
            offset,
        )
    )


async def count(pool: Executor, provider: str | None) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM provider_connections WHERE ($1::text IS NULL OR provider = $1)", provider
        )
    )


async def insert(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO provider_connections
               (id, provider, name, auth_type, api_key_enc, base_url, priority, is_active, default_model,
                models, provider_specific_data, max_requests_per_minute, max_requests_per_day,
                max_tokens_per_minute, max_concurrent)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           RETURNING *""",
        ident,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def update(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE provider_connections SET
               provider = $2, name = $3, auth_type = $4, api_key_enc = $5, base_url = $6, priority = $7,
               is_active = $8, default_model = $9, models = $10, provider_specific_data = $11,
               max_requests_per_minute = $12, max_requests_per_day = $13, max_tokens_per_minute = $14,
               max_concurrent = $15, updated_at = now()
           WHERE id = $1
           RETURNING *""",
        ident,
        *(values[column] for column in COLUMNS),
    )
    assert row is not None
    return row


async def delete(conn: Conn, ident: str) -> bool:
    result = await conn.execute("DELETE FROM provider_connections WHERE id = $1", ident)
    return bool(result.endswith(" 1"))
