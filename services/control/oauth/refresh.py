"""The control plane's side of OAuth refreshes: on demand (`/api/oauth/{provider}/refresh`).

The refresh itself (lease, re-check, compare-and-swap, audit) is shared/oauth/refresh.py, which the
worker's refresh-ahead cron job runs too; here its errors become API answers and a rotation
publishes the snapshot at once.
"""

from __future__ import annotations

import asyncpg

from services.control.audit import Actor
from services.control.errors import ApiError, NotFoundError
from services.control.oauth.client import post_form
from services.control.state import ControlState
from shared.oauth import refresh as shared_refresh
from shared.oauth.refresh import RefreshDeps, RefreshError, RefreshOutcome

__all__ = ["RefreshOutcome", "oauth_row", "refresh_connection", "refresh_deps"]


def refresh_deps(state: ControlState) -> RefreshDeps:
    return RefreshDeps(
        pool=state.pool,
        redis=state.redis,
        cipher=state.cipher,
        allow_private=state.settings.allow_private_upstreams,
        published=state.publisher.publish_latest,
        post_form=post_form,
    )


def _api_error(exc: RefreshError) -> ApiError:
    if exc.status == 404:
        return NotFoundError("provider connection")
    if exc.code == "not_oauth":
        return ApiError(409, exc.message, exc.code, [{"field": "connectionId", "message": "not OAuth"}])
    return ApiError(exc.status, exc.message, exc.code)


async def oauth_row(state: ControlState, ident: str) -> asyncpg.Record:
    try:
        row: asyncpg.Record = await shared_refresh.oauth_row(state.pool, ident)
    except RefreshError as exc:
        raise _api_error(exc) from None
    return row


async def refresh_connection(
    state: ControlState, actor: Actor, ident: str, *, unless_valid_for: float | None = None
) -> RefreshOutcome:
    """Refresh now; with `unless_valid_for` (seconds) only if the token expires sooner than that."""
    try:
        return await shared_refresh.refresh_connection(
            refresh_deps(state), actor, ident, unless_valid_for=unless_valid_for
        )
    except RefreshError as exc:
        raise _api_error(exc) from None
