"""GET /api/init: the first-run state, for a dashboard deciding what to show.

Readable without login, but then it says only what the login screen needs (`requireLogin`, and
`authenticated: false`) and nothing about the installation. With credentials (a session, an admin
key, or a local caller while `requireLogin` is off) it adds whether setup is done: whether the
bootstrap password is still the one in use, whether provider connections and API keys exist,
and the version. It never answers a secret, a count of anything, or a name.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import msgspec
from litestar import Request, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from services.control.auth.guard import admin_guard
from services.control.auth.local_access import login_required
from services.control.context import control_state
from shared.crypto import verify_password

__all__ = ["FirstRunState", "init_state"]


class FirstRunState(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    require_login: bool
    authenticated: bool
    # Only for an authenticated caller:
    version: str | None = None
    # True while the stored password is still INITIAL_PASSWORD; null when this process was started
    # without it (nothing to compare with).
    initial_password_in_use: bool | None = None
    has_provider_connections: bool | None = None
    has_api_keys: bool | None = None
    setup_complete: bool | None = None  # a provider connection (or node) and an API key exist


def _version() -> str:
    try:
        return version("omniroute")
    except PackageNotFoundError:
        return "unknown"


async def _authenticated(request: Request[Any, Any, Any]) -> bool:
    try:
        await admin_guard(request, request.route_handler)
    except (NotAuthorizedException, PermissionDeniedException):
        return False
    return True


@get("/api/init", tags=["auth"])
async def init_state(request: Request[Any, Any, Any]) -> FirstRunState:
    """First-run state; without credentials only `requireLogin` and `authenticated: false`."""
    required = await login_required(request)
    if not await _authenticated(request):
        return FirstRunState(require_login=required, authenticated=False)
    state = control_state(request)
    row = await state.pool.fetchrow(
        """SELECT (SELECT password_hash FROM admin_auth WHERE id = 1) AS password_hash,
                  EXISTS (SELECT 1 FROM provider_connections) OR EXISTS (SELECT 1 FROM provider_nodes) AS providers,
                  EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL) AS keys"""
    )
    initial = state.settings.initial_password
    stored = row["password_hash"] if row is not None else None
    in_use = None
    if initial and isinstance(stored, str):
        in_use = await asyncio.to_thread(verify_password, initial, stored)  # scrypt: off the event loop
    providers, keys = bool(row and row["providers"]), bool(row and row["keys"])
    return FirstRunState(
        require_login=required,
        authenticated=True,
        version=_version(),
        initial_password_in_use=in_use,
        has_provider_connections=providers,
        has_api_keys=keys,
        setup_complete=providers and keys,
    )
