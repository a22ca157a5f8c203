"""SQL for API keys."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = ["EDITABLE", "count", "fetch", "fetch_page", "insert", "revoke", "update"]

EDITABLE = (
    "name",
    "scopes",
    "allowed_models",
    "max_requests_per_minute",
    "max_requests_per_day",
    "max_tokens_per_minute",
    "expires_at",
)


async def fetch(conn: Executor, ident: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow("SELECT * FROM api_keys WHERE id = $1 FOR UPDATE", ident)
    return await conn.fetchrow("SELECT * FROM api_keys WHERE id = $1", ident)


async def fetch_page(pool: Executor, include_revoked: bool, limit: int, offset: int) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            """SELECT * FROM api_keys WHERE ($1 OR revoked_at IS NULL)
               ORDER BY created_at DESC, id LIMIT $2 OFFSET $3""",
            include_revoked,
            limit,
            offset,
        )
    )


async def count(pool: Executor, include_revoked: bool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM api_keys WHERE ($1 OR revoked_at IS NULL)", include_revoked))


async def insert(conn: Conn, ident: str, key_hash: str, key_prefix: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO api_keys (id, key_hash, key_prefix, name, scopes, allowed_models, max_requests_per_minute,
                                 max_requests_per_day, max_tokens_per_minute, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING *""",
        ident,
        key_hash,
        key_prefix,
        *(values[column] for column in EDITABLE),
    )
    assert row is not None
    return row


async def update(conn: Conn, ident: str, values: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE api_keys SET name = $2, scopes = $3, allowed_models = $4, max_requests_per_minute = $5,
                  max_requests_per_day = $6, max_tokens_per_minute = $7, expires_at = $8, updated_at = now()
           WHERE id = $1 RETURNING *""",
        ident,
        *(values[column] for column in EDITABLE),
    )
    assert row is not None
    return row


async def revoke(conn: Conn, ident: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        "UPDATE api_keys SET revoked_at = now(), updated_at = now() WHERE id = $1 RETURNING *", ident
    )
    assert row is not None
    return row
