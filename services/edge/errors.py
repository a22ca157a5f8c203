"""Errors at the edge, rendered in the caller's dialect with the right status.

Framework errors (unknown route, body too large, wrong method) and unexpected exceptions are
converted to the gateway's error tree first, so a client never sees a stack trace or a 500 page.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from services.edge.context import request_id_of
from shared.canonical.errors import (
    BadRequest,
    GatewayError,
    InternalError,
    NotFound,
    PayloadTooLarge,
)
from shared.formats.openai_chat.inbound import render_error

__all__ = ["EXCEPTION_HANDLERS", "error_response"]

log = logging.getLogger(__name__)


def error_response(error: GatewayError, request_id: str) -> Response[bytes]:
    headers = {"X-OmniRoute-Request-Id": request_id, **error.headers}
    return Response(render_error(error), status_code=error.status, media_type="application/json", headers=headers)


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
    return error_response(exc, request_id_of(request))


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return error_response(_from_http(exc), request_id_of(request))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error", extra={"path": request.url.path, "request_id": request_id_of(request)})
    return error_response(InternalError("The gateway failed to handle this request."), request_id_of(request))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    GatewayError: _gateway,
    HTTPException: _http,
    Exception: _unexpected,
}
