"""SQL for OAuth credentials on provider connections (parameterised; tokens arrive encrypted).

`oauth_token_version` is the compare-and-swap guard: every write of new tokens bumps it; the
rotation itself (a compare-and-swap on it) is shared/oauth/tokens.py.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor
from shared.oauth.tokens import EncryptedTokens, rotate_tokens

__all__ = ["EncryptedTokens", "clear_tokens", "fetch", "find_by_name", "insert", "replace_tokens", "rotate_tokens"]


async def fetch(conn: Executor, ident: str, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow("SELECT * FROM provider_connections WHERE id = $1 FOR UPDATE", ident)
    return await conn.fetchrow("SELECT * FROM provider_connections WHERE id = $1", ident)


async def find_by_name(conn: Conn, provider: str, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM provider_connections WHERE provider = $1 AND name = $2 FOR UPDATE", provider, name
    )


async def insert(
    conn: Conn,
    ident: str,
    provider: str,
    name: str,
    base_url: str | None,
    extra: dict[str, Any],
    tokens: EncryptedTokens,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO provider_connections
               (id, provider, name, auth_type, base_url, provider_specific_data, oauth_access_token_enc,
                oauth_refresh_token_enc, oauth_expires_at, oauth_scope, oauth_token_version)
           VALUES ($1, $2, $3, 'oauth', $4, $5, $6, $7, $8, $9, 1)
           RETURNING *""",
        ident,
        provider,
        name,
        base_url,
        extra,
        *tokens,
    )
    assert row is not None
    return row


async def replace_tokens(
    conn: Conn, ident: str, base_url: str | None, extra: dict[str, Any], tokens: EncryptedTokens
) -> asyncpg.Record:
    """A fresh authorisation of an existing connection: new tokens whatever the version was."""
    row = await conn.fetchrow(
        """UPDATE provider_connections SET
               auth_type = 'oauth', api_key_enc = NULL, base_url = COALESCE($2, base_url),
               provider_specific_data = provider_specific_data || $3::jsonb,
               oauth_access_token_enc = $4, oauth_refresh_token_enc = $5, oauth_expires_at = $6,
               oauth_scope = $7, oauth_token_version = oauth_token_version + 1, is_active = true,
               updated_at = now()
           WHERE id = $1
           RETURNING *""",
        ident,
        base_url,
        extra,
        *tokens,
    )
    assert row is not None
    return row


async def clear_tokens(conn: Conn, ident: str) -> asyncpg.Record:
    """After revocation: no tokens, no routing to this connection until it is authorised again."""
    row = await conn.fetchrow(
        """UPDATE provider_connections SET
               oauth_access_token_enc = NULL, oauth_refresh_token_enc = NULL, oauth_expires_at = NULL,
               oauth_token_version = oauth_token_version + 1, is_active = false, updated_at = now()
           WHERE id = $1
           RETURNING *""",
        ident,
    )
    assert row is not None
    return row
