"""Management API errors: one JSON shape, `{"error": {"message", "code", "details"?}}`.

Validation failures name the field; unknown ids are 404; nothing leaks a stack trace.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

__all__ = ["EXCEPTION_HANDLERS", "ApiError", "InvalidField", "NotFoundError"]

log = logging.getLogger(__name__)

_NAMED_FIELD = re.compile(r"field `([^`]+)`")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details
        self.headers = headers


class InvalidField(ApiError):
    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(status, f"{field}: {message}", "invalid_field", [{"field": field, "message": message}])


class NotFoundError(ApiError):
    def __init__(self, what: str) -> None:
        super().__init__(404, f"{what} not found", "not_found")


def _body(message: str, code: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "code": code}
    if details:
        error["details"] = details
    return {"error": error}


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return Response(_body(exc.message, exc.code, exc.details), status_code=exc.status, headers=exc.headers)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    details = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            named = _NAMED_FIELD.search(message)  # "Object missing required field `provider`"
            key = item.get("key")
            if key in (None, "", "data") and named:  # "data" is the body parameter itself: name the field
                key = named.group(1)
            field = str(key or item.get("source") or "body")
            details.append({"field": field, "message": message})
    if details:
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    else:
        message = "the request body is not valid"
    return Response(_body(message, "invalid_request", details), status_code=400)


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
    }
    return Response(
        _body(str(exc.detail), code.get(exc.status_code, "error")),
        status_code=exc.status_code,
        headers=exc.headers or None,
    )


def _data_error(_: Request[Any, Any, Any], exc: asyncpg.DataError) -> Response[dict[str, Any]]:
    # Postgres refused a value the validators let through (a NUL character, a number out of range):
    # the caller's input, so 400; the transaction has rolled back, nothing is half-written.
    return Response(
        _body("a value in the request cannot be stored or searched (e.g. a NUL character)", "invalid_value"),
        status_code=400,
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", extra={"path": request.url.path})
    return Response(_body("internal error", "internal_error"), status_code=HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApiError: _api_error,
    ValidationException: _validation,
    HTTPException: _http,
    asyncpg.DataError: _data_error,
    Exception: _unexpected,
}
