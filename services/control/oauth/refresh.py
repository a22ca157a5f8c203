"""Refreshing one connection's OAuth tokens, serialised across every control replica and worker.

1. Read the token version, then take the connection's Redis lease (shared/kv/lock.py).
2. Read again under the lease: if the version moved, someone refreshed while we waited, and their
   token is the answer (a single-use refresh token is never posted twice).
3. Otherwise call the provider, then write the rotated tokens with a compare-and-swap on the
   version. Losing the swap (a straggler whose lease lapsed) means the winner's tokens stand: ours
   are dropped and the winner's are answered.
4. `invalid_grant` after someone else's rotation is a race, not a dead credential.
Each successful rotation is audited and publishes a snapshot, so edges send the new access token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass

import asyncpg
import msgspec
from redis.exceptions import RedisError

from services.control import audit
from services.control.audit import Actor
from services.control.errors import ApiError, NotFoundError
from services.control.oauth import store
from services.control.oauth.client import OAuthEndpointError, OAuthGrantError, endpoint, post_form, token_set
from services.control.oauth.grants import decrypt_token, encrypt_tokens, view
from services.control.state import ControlState
from shared.kv import keys
from shared.kv.lock import Lease, LeaseTimeout
from shared.oauth.registry import find_oauth_provider, resolve

__all__ = ["RefreshOutcome", "oauth_row", "refresh_connection", "refresh_due", "run_refresh_ahead"]

log = logging.getLogger(__name__)

LEASE_MS = 30_000  # longer than one token call can take (15 s timeout)
WAIT_MS = 35_000


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    row: asyncpg.Record
    refreshed: bool  # False: another caller's rotation is what `row` holds


class _LostSwap(Exception):
    pass


async def oauth_row(state: ControlState, ident: str) -> asyncpg.Record:
    row = await store.fetch(state.pool, ident)
    if row is None:
        raise NotFoundError("provider connection")
    if row["auth_type"] != "oauth":
        raise ApiError(
            409, "this connection does not use OAuth", "not_oauth", [{"field": "connectionId", "message": "not OAuth"}]
        )
    return row


def _fresh_enough(row: asyncpg.Record, lead_seconds: float | None) -> bool:
    """With a lead time, a token that outlives it needs no refresh (someone just did it)."""
    expires = row["oauth_expires_at"]
    return lead_seconds is not None and (expires is None or expires.timestamp() > time.time() + lead_seconds)


async def refresh_connection(
    state: ControlState, actor: Actor, ident: str, *, unless_valid_for: float | None = None
) -> RefreshOutcome:
    """Refresh now; with `unless_valid_for` (seconds) only if the token expires sooner than that."""
    seen = await oauth_row(state, ident)
    seen_version = seen["oauth_token_version"]
    try:
        async with Lease(state.redis).hold(keys.oauth_refresh_lock(ident), LEASE_MS, WAIT_MS):
            current = await oauth_row(state, ident)
            if current["oauth_token_version"] != seen_version or _fresh_enough(current, unless_valid_for):
                return RefreshOutcome(current, refreshed=False)
            return await _rotate(state, actor, current)
    except LeaseTimeout:
        raise ApiError(503, "another refresh of this connection is still running; retry", "refresh_busy") from None


async def _rotate(state: ControlState, actor: Actor, row: asyncpg.Record) -> RefreshOutcome:
    ident, version = str(row["id"]), row["oauth_token_version"]
    extra = row["provider_specific_data"] or {}
    found = find_oauth_provider(str(extra.get("oauthProvider") or ""))
    if found is None:
        raise ApiError(409, "this connection's OAuth provider is unknown", "unknown_oauth_provider")
    spec = resolve(found, os.environ)
    refresh_token = decrypt_token(state.cipher, row, "refresh")
    if refresh_token is None:
        raise ApiError(409, "this connection has no refresh token; authorise it again", "no_refresh_token")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": spec.client_id}
    if spec.client_secret:
        form["client_secret"] = spec.client_secret
    try:
        tokens = token_set(
            await post_form(
                endpoint(spec, "token_url", state.settings.allow_private_upstreams),
                form,
                allow_private=state.settings.allow_private_upstreams,
            )
        )
    except OAuthGrantError as exc:
        latest = await oauth_row(state, ident)
        if latest["oauth_token_version"] != version:  # rotated by someone whose lease we outlived
            return RefreshOutcome(latest, refreshed=False)
        log.warning("oauth refresh refused", extra={"connection_id": ident, "error": exc.code})
        raise ApiError(
            409, f"the provider refused the refresh token ({exc.code}); authorise the connection again", exc.code
        ) from None
    except OAuthEndpointError as exc:
        raise ApiError(502, str(exc), "oauth_provider_error") from None
    encrypted = encrypt_tokens(state.cipher, ident, tokens, keep_refresh=refresh_token)
    try:
        async with state.writer.transaction() as conn:
            updated = await store.rotate_tokens(conn, ident, version, encrypted)
            if updated is None:
                raise _LostSwap
            await audit.record(
                conn,
                actor,
                "oauth.refreshed",
                "provider",
                ident,
                msgspec.to_builtins(view(row, state.cipher)),
                msgspec.to_builtins(view(updated, state.cipher)),
            )
    except _LostSwap:
        log.warning(
            "oauth refresh lost the compare-and-swap; keeping the winner's tokens", extra={"connection_id": ident}
        )
        return RefreshOutcome(await oauth_row(state, ident), refreshed=False)
    log.info("oauth tokens refreshed", extra={"connection_id": ident, "token_version": version + 1})
    return RefreshOutcome(updated, refreshed=True)


REFRESH_LEAD_SECONDS = 300  # refresh a token this long before it expires
REFRESH_CHECK_SECONDS = 60
_SYSTEM = Actor(name="system:oauth-refresh", request_id="oauth-refresh", client_ip=None)


async def refresh_due(state: ControlState, lead_seconds: float = REFRESH_LEAD_SECONDS) -> int:
    """Refresh every active OAuth connection whose token expires within the lead time.

    Every control replica runs this; the lease and the re-check under it make the replicas
    refresh each connection once between them. Returns how many this replica refreshed.
    """
    rows = await state.pool.fetch(
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
            outcome = await refresh_connection(state, _SYSTEM, ident, unless_valid_for=lead_seconds)
        except (ApiError, NotFoundError) as exc:
            log.warning("oauth refresh ahead of expiry failed", extra={"connection_id": ident, "error": exc.code})
            continue
        refreshed += outcome.refreshed
    return refreshed


async def run_refresh_ahead(state: ControlState, interval: float = REFRESH_CHECK_SECONDS) -> None:
    """The control plane's background loop keeping OAuth access tokens ahead of expiry."""
    while True:
        await asyncio.sleep(interval)  # first check after one interval: startup stays quick
        try:
            await refresh_due(state)
        except (OSError, asyncpg.PostgresError, RedisError) as exc:
            log.debug("oauth refresh check failed", extra={"error": type(exc).__name__})
        except Exception as exc:  # the loop must outlive any one bad row
            log.warning("oauth refresh check failed", extra={"error": type(exc).__name__})
