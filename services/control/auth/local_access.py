"""`requireLogin: false`: the management API without credentials, for a dashboard on the same host.

Only for a request that is local in every respect:
- the socket peer is a loopback address;
- no proxy header is present (a reverse proxy on the same host makes every remote client look
  local; a request that came through one is not local);
- the Host header names loopback (`localhost`, `127.0.0.1`, `[::1]`), which defeats DNS
  rebinding: a page on evil.example re-pointed at 127.0.0.1 still sends `Host: evil.example`.
Writes also pass the same-site check cookie writes pass, so a page in the local browser cannot
post to the API. Bearer keys are still checked as always; anything else needs a login.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from services.control.context import control_state
from services.control.resources.settings.gateway_rules import GENERAL
from services.control.resources.settings.rules import typed
from shared.client_filter import parse_address

__all__ = ["LOCAL_ACTOR", "is_local_request", "login_required"]

LOCAL_ACTOR = "local"
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_PROXY_HEADERS = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip", b"x-forwarded-host"})


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rpartition(":")[0] if ":" in host else host


def is_local_request(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    client = connection.scope.get("client")
    address = parse_address(client[0]) if client else None
    if address is None or not address.is_loopback:
        return False
    if any(name in _PROXY_HEADERS for name, _ in connection.scope["headers"]):
        return False
    return _host_name(connection.headers.get("host", "")) in _LOOPBACK_NAMES


async def login_required(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """The stored `requireLogin` (true unless an admin turned it off)."""
    stored = await control_state(connection).pool.fetchval("SELECT value FROM settings WHERE key = $1", GENERAL.key)
    required: bool = typed(GENERAL, stored).require_login
    return required
