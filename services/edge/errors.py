"""Errors at the edge, rendered in the caller's dialect with the right status.

Framework errors (unknown route, body too large, wrong method) and unexpected exceptions are
converted to the gateway's error tree first, so a client never sees a stack trace or a 500 page,
and the caller's dialect is told apart by the path it called.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from services.edge.context import request_id_of
from shared.canonical.errors import BadRequest, GatewayError, InternalError, NotFound, PayloadTooLarge
from shared.formats.base import Dialect
from shared.formats.registry import get_dialect

__all__ = ["EXCEPTION_HANDLERS", "dialect_for_path"]

log = logging.getLogger(__name__)

_PREFIXES = (
    ("/v1/messages", "anthropic"),
    ("/v1beta/", "gemini"),
    ("/v1/models/", "gemini"),
    ("/api/", "ollama"),
    ("/v1/api/", "ollama"),
    ("/v1/responses", "openai_responses"),
)


def dialect_for_path(path: str) -> Dialect:
    lowered = path.lower()
    for prefix, name in _PREFIXES:
        if lowered.startswith(prefix):
            return get_dialect(name)
    return get_dialect("openai_chat")


def _render(request: Request[Any, Any, Any], error: GatewayError) -> Response[bytes]:
    headers = {"X-OmniRoute-Request-Id": request_id_of(request), **error.headers}
    body = dialect_for_path(request.url.path).render_error(error)
    return Response(body, status_code=error.status, media_type="application/json", headers=headers)


def _from_http(exc: HTTPException) -> GatewayError:
    if exc.status_code == 413:
        return PayloadTooLarge("The request body is larger than this gateway accepts.")
    if exc.status_code == 404:
        return NotFound("Unknown endpoint.", code="unknown_endpoint")
    if exc.status_code == 405:
        return GatewayError(
            "Method not allowed on this endpoint.", status=405, code="method_not_allowed", kind="invalid_request_error"
        )
    if 400 <= exc.status_code < 500:
        return BadRequest(str(exc.detail)[:500], status=exc.status_code)
    return InternalError("The gateway failed to handle this request.")


def _gateway(request: Request[Any, Any, Any], exc: GatewayError) -> Response[bytes]:
    return _render(request, exc)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return _render(request, _from_http(exc))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error", extra={"path": request.url.path, "request_id": request_id_of(request)})
    return _render(request, InternalError("The gateway failed to handle this request."))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    GatewayError: _gateway,
    HTTPException: _http,
    Exception: _unexpected,
}
