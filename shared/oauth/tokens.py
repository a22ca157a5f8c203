"""A connection's OAuth tokens at rest: their encryption context, and the compare-and-swap write.

`oauth_token_version` is the compare-and-swap guard: every write of new tokens bumps it, and a
rotation only lands if the version is still the one its refresh started from. Used by the control
plane (authorisation, on-demand refresh) and the workers (refresh ahead of expiry).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.crypto import DecryptionError, FieldCipher, mask_secret
from shared.oauth.client import TokenSet
from shared.sql import Connection, Database

__all__ = [
    "EncryptedTokens",
    "audit_view",
    "decrypt_token",
    "encrypt_tokens",
    "fetch_connection",
    "oauth_token_aad",
    "rotate_tokens",
]

EncryptedTokens = tuple[bytes, bytes | None, datetime | None, str | None]  # access, refresh, expires at, scope


def oauth_token_aad(connection_id: str, kind: str) -> str:
    """`kind` is "access" or "refresh": the two tokens of one row cannot be swapped either."""
    return f"provider_connections:{connection_id}:oauth_{kind}"


def decrypt_token(cipher: FieldCipher, row: Any, kind: str) -> str | None:
    blob = row[f"oauth_{kind}_token_enc"]
    if not blob:
        return None
    return cipher.decrypt_text(blob, oauth_token_aad(str(row["id"]), kind))


def encrypt_tokens(cipher: FieldCipher, ident: str, tokens: TokenSet, keep_refresh: str | None) -> EncryptedTokens:
    """`keep_refresh`: a provider that does not rotate refresh tokens answers none; keep the old one."""
    refresh = tokens.refresh_token or keep_refresh
    return (
        cipher.encrypt_text(tokens.access_token, oauth_token_aad(ident, "access")),
        cipher.encrypt_text(refresh, oauth_token_aad(ident, "refresh")) if refresh else None,
        datetime.fromtimestamp(tokens.expires_at, UTC) if tokens.expires_at else None,
        tokens.scope,
    )


def audit_view(row: Any, cipher: FieldCipher) -> dict[str, Any]:
    """What an audit row shows of the connection: no token, only whether there is one and its version."""
    try:
        masked = mask_secret(decrypt_token(cipher, row, "access"))
    except DecryptionError:
        masked = "[undecryptable]"
    extra = row["provider_specific_data"] or {}
    expires = row["oauth_expires_at"]
    return {
        "id": str(row["id"]),
        "provider": row["provider"],
        "oauthProvider": extra.get("oauthProvider") if isinstance(extra, dict) else None,
        "name": row["name"],
        "isActive": row["is_active"],
        "accessToken": masked,
        "hasRefreshToken": row["oauth_refresh_token_enc"] is not None,
        "expiresAt": expires.isoformat() if expires else None,
        "scope": row["oauth_scope"],
        "tokenVersion": row["oauth_token_version"],
    }


async def fetch_connection(db: Database, ident: str) -> Any:
    """The row, or None."""
    return await db.fetchrow("SELECT * FROM provider_connections WHERE id = $1", ident)


async def rotate_tokens(conn: Connection, ident: str, expected_version: int, tokens: EncryptedTokens) -> Any:
    """Write refreshed tokens only if nobody else has since: None means another refresh won."""
    return await conn.fetchrow(
        """UPDATE provider_connections SET
               oauth_access_token_enc = $3, oauth_refresh_token_enc = $4, oauth_expires_at = $5,
               oauth_scope = COALESCE($6, oauth_scope), oauth_token_version = oauth_token_version + 1,
               updated_at = now()
           WHERE id = $1 AND auth_type = 'oauth' AND oauth_token_version = $2
           RETURNING *""",
        ident,
        expected_version,
        *tokens,
    )
