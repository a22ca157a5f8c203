"""The request id every edge answer carries (X-OmniRoute-Request-Id)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from shared.ids import new_request_id

__all__ = ["request_id_of"]


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    state = connection.scope.setdefault("state", {})
    existing = state.get("request_id")
    if isinstance(existing, str):
        return existing
    request_id = new_request_id()
    state["request_id"] = request_id
    return request_id
