"""Who may use the management API: a cookie session, or a Bearer key with the `admin` scope.

Inference keys (without `admin`) get 403. Cookie-authenticated writes need two defences a
cross-site form cannot forge: they must come from the same site (Fetch-Metadata and Origin
checks), and they must carry the session's CSRF token in `X-CSRF-Token` (see auth/session.py).
Bearer-key automation is unaffected: browsers never attach an Authorization header on their own.
With `requireLogin` off, a strictly local request needs no credentials (auth/local_access.py);
its writes still pass the same-site checks.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from services.control.audit import Actor
from services.control.auth.local_access import LOCAL_ACTOR, is_local_request, login_required
from services.control.auth.session import COOKIE_NAME, CSRF_HEADER_NAME, csrf_matches, session_csrf
from services.control.context import control_state, request_id_of
from shared.crypto import hash_api_key

__all__ = ["admin_guard"]

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("malformed Authorization header")
    return token.strip()


async def _key_actor(connection: ASGIConnection[Any, Any, Any, Any], raw_key: str) -> str:
    state = control_state(connection)
    row = await state.pool.fetchrow(
        """SELECT id, scopes FROM api_keys
           WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())""",
        hash_api_key(raw_key),
    )
    if row is None:
        raise NotAuthorizedException("invalid API key")
    if "admin" not in row["scopes"]:
        raise PermissionDeniedException("this key lacks the admin scope needed for the management API")
    return f"key:{row['id']}"


def _check_same_site(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    if connection.scope.get("method", "GET") in _SAFE_METHODS:
        return
    site = connection.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "same-site", "none"):
        raise PermissionDeniedException("cross-site request refused")
    origin = connection.headers.get("origin")
    if origin and origin != "null":
        host = connection.headers.get("host", "")
        if urlsplit(origin).netloc.lower() != host.lower():
            raise PermissionDeniedException("cross-origin request refused")
    elif origin == "null":
        raise PermissionDeniedException("cross-origin request refused")


def _check_csrf_token(connection: ASGIConnection[Any, Any, Any, Any], expected: str) -> None:
    if connection.scope.get("method", "GET") in _SAFE_METHODS:
        return
    if not csrf_matches(expected, connection.headers.get(CSRF_HEADER_NAME)):
        raise PermissionDeniedException("cookie-authenticated writes need the X-CSRF-Token header from login")


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    state = control_state(connection)
    raw_key = _bearer(connection)
    if raw_key is not None:
        name = await _key_actor(connection, raw_key)
    else:
        token = connection.cookies.get(COOKIE_NAME)
        csrf = session_csrf(token, state.session_secret) if token else None
        if csrf is not None:
            _check_same_site(connection)
            _check_csrf_token(connection, csrf)
            name = "admin"
        elif is_local_request(connection) and not await login_required(connection):
            _check_same_site(connection)
            name = LOCAL_ACTOR  # requireLogin is off: a local caller without credentials
        else:
            raise NotAuthorizedException("login or an admin API key is required")
    client = connection.client.host if connection.client else None
    connection.state["actor"] = Actor(name=name, request_id=request_id_of(connection), client_ip=client)
