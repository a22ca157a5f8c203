"""The client address filter (/api/settings/ip-filter), applied before any client route does work.

An ASGI middleware rather than a guard: it costs one memo probe when no list is set, and a refused
client gets its 403 before the body is read or a key is looked at, in the dialect of the path it
called. The operations endpoints (/healthz, /readyz, /metrics) are not filtered: probes and
scrapers come from the cluster, not from clients.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from services.edge.context import request_id_of
from services.edge.errors import dialect_for_path
from services.edge.pipeline.gateway_settings import client_filter
from services.edge.state import EdgeState
from shared.canonical.errors import PermissionDenied

__all__ = ["client_access_middleware"]

_UNFILTERED = frozenset({"/healthz", "/readyz", "/metrics"})
_REFUSED = PermissionDenied("This client address is not allowed to use the gateway.", code="ip_not_allowed")


def _forwarded_for(scope: Scope) -> list[str]:
    return [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"]


async def _refuse(scope: Scope, send: Send) -> None:
    body = dialect_for_path(scope["path"]).render_error(_REFUSED)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-omniroute-request-id", request_id_of(ASGIConnection(scope)).encode()),
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": _REFUSED.status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


def client_access_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"] not in _UNFILTERED:
            state: EdgeState = scope["litestar_app"].state.edge
            rules = client_filter(state.holder.current)
            if rules is not None:
                client = scope.get("client")
                peer = client[0] if client else None
                forwarded = _forwarded_for(scope) if rules.trusted_proxies else []
                if not rules.permits(rules.client_address(peer, forwarded)):
                    await _refuse(scope, send)
                    return
        await app(scope, receive, send)

    return middleware
