"""Per-request facts the control plane needs everywhere: request id, client address, actor."""

from __future__ import annotations

import re
from typing import Any

from litestar.connection import ASGIConnection

from services.control.audit import Actor
from services.control.state import ControlState
from shared.ids import new_request_id

__all__ = ["actor_of", "control_state", "request_id_of"]

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def control_state(connection: ASGIConnection[Any, Any, Any, Any]) -> ControlState:
    state: ControlState = connection.app.state.control
    return state


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    existing = connection.state.get("request_id")
    if isinstance(existing, str):
        return existing
    offered = connection.headers.get("x-request-id")
    request_id = offered if offered and _CLIENT_REQUEST_ID.match(offered) else new_request_id()
    connection.state["request_id"] = request_id
    return request_id


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    actor = connection.state.get("actor")
    if isinstance(actor, Actor):
        return actor
    client = connection.client.host if connection.client else None
    return Actor(name="anonymous", request_id=request_id_of(connection), client_ip=client)
