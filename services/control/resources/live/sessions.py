"""GET /api/sessions: conversations pinned to a connection (session affinity), as the edges left them."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import QueryParameter

from services.control.context import control_state
from services.control.resources.live.directory import connection_names
from services.control.resources.live.fleet import fleet_state
from shared.kv.sessions import list_sessions

__all__ = ["SessionsAnswer", "active_sessions"]


class SessionEntry(msgspec.Struct, kw_only=True, rename="camel"):
    session: str  # "<api key id or anonymous>:<X-Session-Id or prompt fingerprint>"
    connection_id: str
    connection_name: str | None  # None when the connection is no longer in Postgres
    ttl_ms: int  # until the pin is forgotten; each request of the session slides it


class SessionsAnswer(msgspec.Struct, kw_only=True):
    sessions: list[SessionEntry]
    count: int


@get("/api/sessions", tags=["sessions"])
async def active_sessions(
    request: Request[Any, Any, Any], limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100
) -> SessionsAnswer:
    """Up to `limit` live sessions (in Redis scan order, not sorted)."""
    state = control_state(request)
    with fleet_state():
        views = await list_sessions(state.redis, limit)
    names = await connection_names(state.pool, (view.connection_id for view in views))
    sessions = [
        SessionEntry(
            session=view.session,
            connection_id=view.connection_id,
            connection_name=names[view.connection_id].name if view.connection_id in names else None,
            ttl_ms=view.ttl_ms,
        )
        for view in views
    ]
    return SessionsAnswer(sessions=sessions, count=len(sessions))
