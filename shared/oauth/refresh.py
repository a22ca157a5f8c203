"""Refreshing one connection's OAuth tokens, serialised across every control replica and worker.

1. Read the token version, then take the connection's Redis lease (shared/kv/lock.py).
2. Read again under the lease: if the version moved, someone refreshed while we waited, and their
   token is the answer (a single-use refresh token is never posted twice).
3. Otherwise call the provider, then write the rotated tokens with a compare-and-swap on the
   version. Losing the swap (a straggler whose lease lapsed) means the winner's tokens stand: ours
   are dropped and the winner's are answered.
4. `invalid_grant` after someone else's rotation is a race, not a dead credential.

Each successful rotation bumps `config_version` and writes its audit row in the same transaction,
then calls the caller's `published` hook: the control plane publishes the snapshot at once; the
worker leaves it to the control plane's publisher backstop, which republishes whenever Redis is
behind the database version (within OMNIROUTE_SNAPSHOT_REPUBLISH_SECONDS, far inside the lead).
The control plane's `/api/oauth/{provider}/refresh` and the worker's cron job share this code.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared import audit
from shared.audit import Actor
from shared.crypto import FieldCipher
from shared.kv import keys
from shared.kv.lock import Lease, LeaseTimeout
from shared.oauth.client import FormPoster, OAuthEndpointError, OAuthGrantError, endpoint, token_set
from shared.oauth.registry import find_oauth_provider, resolve
from shared.oauth.tokens import audit_view, decrypt_token, encrypt_tokens, fetch_connection, rotate_tokens
from shared.sql import Database

__all__ = [
    "REFRESH_LEAD_SECONDS",
    "SYSTEM_ACTOR",
    "RefreshDeps",
    "RefreshError",
    "RefreshOutcome",
    "oauth_row",
    "refresh_connection",
    "refresh_due",
    "rotate",
]

log = logging.getLogger(__name__)

LEASE_MS = 30_000  # longer than one token call can take (15 s timeout)
WAIT_MS = 35_000
REFRESH_LEAD_SECONDS = 300  # refresh a token this long before it expires
SYSTEM_ACTOR = Actor(name="system:oauth-refresh", request_id="oauth-refresh", client_ip=None)


@dataclass(frozen=True, slots=True)
class RefreshDeps:
    pool: Database
    redis: Redis
    cipher: FieldCipher
    allow_private: bool  # OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS: lifts the SSRF guard of overridden token URLs
    published: Callable[[], Awaitable[Any]]  # after a committed rotation
    post_form: FormPoster  # the service's guarded HTTP client for the token endpoint


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    row: Any
    refreshed: bool  # False: another caller's rotation is what `row` holds


class RefreshError(Exception):
    """Why a refresh could not happen, as the HTTP status and error code an API would answer."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class _LostSwap(Exception):
    pass


async def oauth_row(pool: Database, ident: str) -> Any:
    row = await fetch_connection(pool, ident)
    if row is None:
        raise RefreshError(404, "provider connection not found", "not_found")
    if row["auth_type"] != "oauth":
        raise RefreshError(409, "this connection does not use OAuth", "not_oauth")
    return row


def _fresh_enough(row: Any, lead_seconds: float | None) -> bool:
    """With a lead time, a token that outlives it needs no refresh (someone just did it)."""
    expires = row["oauth_expires_at"]
    return lead_seconds is not None and (expires is None or expires.timestamp() > time.time() + lead_seconds)


async def refresh_connection(
    deps: RefreshDeps, actor: Actor, ident: str, *, unless_valid_for: float | None = None
) -> RefreshOutcome:
    """Refresh now; with `unless_valid_for` (seconds) only if the token expires sooner than that."""
    seen = await oauth_row(deps.pool, ident)
    seen_version = seen["oauth_token_version"]
    try:
        async with Lease(deps.redis).hold(keys.oauth_refresh_lock(ident), LEASE_MS, WAIT_MS):
            current = await oauth_row(deps.pool, ident)
            if current["oauth_token_version"] != seen_version or _fresh_enough(current, unless_valid_for):
                return RefreshOutcome(current, refreshed=False)
            return await rotate(deps, actor, current)
    except LeaseTimeout:
        raise RefreshError(503, "another refresh of this connection is still running; retry", "refresh_busy") from None


async def rotate(deps: RefreshDeps, actor: Actor, row: Any) -> RefreshOutcome:
    """Post the refresh token and store the answer if the version is still `row`'s (no lease taken here)."""
    ident, version = str(row["id"]), row["oauth_token_version"]
    extra = row["provider_specific_data"] or {}
    found = find_oauth_provider(str(extra.get("oauthProvider") or ""))
    if found is None:
        raise RefreshError(409, "this connection's OAuth provider is unknown", "unknown_oauth_provider")
    spec = resolve(found, os.environ)
    refresh_token = decrypt_token(deps.cipher, row, "refresh")
    if refresh_token is None:
        raise RefreshError(409, "this connection has no refresh token; authorise it again", "no_refresh_token")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": spec.client_id}
    if spec.client_secret:
        form["client_secret"] = spec.client_secret
    try:
        tokens = token_set(
            await deps.post_form(
                endpoint(spec, "token_url", deps.allow_private), form, allow_private=deps.allow_private
            )
        )
    except OAuthGrantError as exc:
        latest = await oauth_row(deps.pool, ident)
        if latest["oauth_token_version"] != version:  # rotated by someone whose lease we outlived
            return RefreshOutcome(latest, refreshed=False)
        log.warning("oauth refresh refused", extra={"connection_id": ident, "error": exc.code})
        raise RefreshError(
            409, f"the provider refused the refresh token ({exc.code}); authorise the connection again", exc.code
        ) from None
    except OAuthEndpointError as exc:
        raise RefreshError(502, str(exc), "oauth_provider_error") from None
    encrypted = encrypt_tokens(deps.cipher, ident, tokens, keep_refresh=refresh_token)
    try:
        async with deps.pool.acquire() as conn, conn.transaction():
            # A configuration change like any other: versioned, and serialised with the other writers.
            await conn.execute("UPDATE config_version SET version = version + 1 WHERE id = 1")
            updated = await rotate_tokens(conn, ident, version, encrypted)
            if updated is None:
                raise _LostSwap
            await audit.record(
                conn,
                actor,
                "oauth.refreshed",
                "provider",
                ident,
                audit_view(row, deps.cipher),
                audit_view(updated, deps.cipher),
            )
    except _LostSwap:
        log.warning(
            "oauth refresh lost the compare-and-swap; keeping the winner's tokens", extra={"connection_id": ident}
        )
        return RefreshOutcome(await oauth_row(deps.pool, ident), refreshed=False)
    log.info("oauth tokens refreshed", extra={"connection_id": ident, "token_version": version + 1})
    await deps.published()
    return RefreshOutcome(updated, refreshed=True)


async def refresh_due(deps: RefreshDeps, lead_seconds: float = REFRESH_LEAD_SECONDS) -> int:
    """Refresh every active OAuth connection whose token expires within the lead time.

    Safe to run from any number of workers at once: the lease and the re-check under it make them
    refresh each connection once between them. Returns how many this caller refreshed.
    """
    rows = await deps.pool.fetch(
        """SELECT id FROM provider_connections
           WHERE auth_type = 'oauth' AND is_active AND oauth_refresh_token_enc IS NOT NULL
             AND oauth_expires_at IS NOT NULL AND oauth_expires_at < now() + make_interval(secs => $1)
           ORDER BY oauth_expires_at""",
        float(lead_seconds),
    )
    refreshed = 0
    for row in rows:
        ident = str(row["id"])
        try:
            outcome = await refresh_connection(deps, SYSTEM_ACTOR, ident, unless_valid_for=lead_seconds)
        except RefreshError as exc:
            log.warning("oauth refresh ahead of expiry failed", extra={"connection_id": ident, "error": exc.code})
            continue
        refreshed += outcome.refreshed
    return refreshed
