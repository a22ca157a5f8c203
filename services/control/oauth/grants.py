"""Storing what a provider granted: encrypt the tokens, create or re-authorise the connection,
audit it, publish the snapshot. Also the masked view every OAuth answer shows."""

from __future__ import annotations

import asyncpg
import msgspec

from services.control import audit
from services.control.audit import Actor
from services.control.errors import ApiError, InvalidField, NotFoundError
from services.control.oauth import store
from services.control.oauth.schemas import OAuthConnectionView
from services.control.params import parse_uuid
from services.control.state import ControlState
from shared.crypto import DecryptionError, FieldCipher, mask_secret
from shared.ids import new_id
from shared.netguard import UnsafeURL, check_url
from shared.oauth.client import TokenSet
from shared.oauth.registry import OAuthProvider
from shared.oauth.tokens import decrypt_token, encrypt_tokens

__all__ = ["check_base_url", "check_name", "check_target", "decrypt_token", "encrypt_tokens", "save_grant", "view"]


def view(row: asyncpg.Record, cipher: FieldCipher) -> OAuthConnectionView:
    try:
        masked = mask_secret(decrypt_token(cipher, row, "access"))
    except DecryptionError:
        masked = "[undecryptable]"
    extra = row["provider_specific_data"] or {}
    return OAuthConnectionView(
        id=str(row["id"]),
        provider=row["provider"],
        oauth_provider=extra.get("oauthProvider") if isinstance(extra, dict) else None,
        name=row["name"],
        auth_type=row["auth_type"],
        is_active=row["is_active"],
        base_url=row["base_url"],
        access_token=masked,
        has_refresh_token=row["oauth_refresh_token_enc"] is not None,
        expires_at=row["oauth_expires_at"],
        scope=row["oauth_scope"],
        token_version=row["oauth_token_version"],
    )


def check_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if not name:
        raise InvalidField("name", "must not be blank", 422)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise InvalidField("name", "must not contain control characters", 422)
    return name


def check_base_url(base_url: str | None, allow_private: bool) -> str | None:
    if base_url is None:
        return None
    try:
        return check_url(base_url, allow_private=allow_private)
    except UnsafeURL as exc:
        raise InvalidField("baseUrl", str(exc), status=422) from None


async def check_target(state: ControlState, spec: OAuthProvider, connection_id: str | None) -> str | None:
    """A connection to re-authorise must exist and belong to the provider the flow grants access to."""
    if connection_id is None:
        return None
    ident = parse_uuid(connection_id, "provider connection")
    row = await store.fetch(state.pool, ident)
    if row is None:
        raise NotFoundError("provider connection")
    if row["provider"] != spec.connection_provider:
        raise InvalidField(
            "connectionId", f"is a {row['provider']!r} connection, not {spec.connection_provider!r}", 422
        )
    return ident


async def save_grant(
    state: ControlState,
    actor: Actor,
    spec: OAuthProvider,
    tokens: TokenSet,
    *,
    name: str | None,
    connection_id: str | None,
    base_url: str | None,
) -> OAuthConnectionView:
    """Create the connection, or give an existing one (by id, else by name) the new tokens."""
    provider = spec.connection_provider
    name = (name or f"{spec.id} account").strip()
    url = base_url or spec.connection_base_url
    extra = {"oauthProvider": spec.id}
    async with state.writer.transaction() as conn:
        if connection_id is not None:
            existing = await store.fetch(conn, connection_id, for_update=True)
            if existing is None:
                raise NotFoundError("provider connection")
        else:
            existing = await store.find_by_name(conn, provider, name)
            if existing is not None and existing["auth_type"] != "oauth":
                raise ApiError(
                    409,
                    f"a connection named {name!r} already exists for provider {provider!r} and uses an API key",
                    "conflict",
                    [{"field": "name", "message": "already exists for this provider"}],
                )
        if existing is None:
            ident = new_id()
            row = await store.insert(
                conn, ident, provider, name, url, extra, encrypt_tokens(state.cipher, ident, tokens, None)
            )
            before = None
        else:
            ident = str(existing["id"])
            before = msgspec.to_builtins(view(existing, state.cipher))
            encrypted = encrypt_tokens(state.cipher, ident, tokens, None)
            row = await store.replace_tokens(conn, ident, base_url, extra, encrypted)
        after = view(row, state.cipher)
        await audit.record(conn, actor, "oauth.connected", "provider", ident, before, msgspec.to_builtins(after))
    return after
