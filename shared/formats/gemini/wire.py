"""Small Gemini wire facts: field spellings, paths, synthesised tool-call ids, error bodies.

Google's JSON mapping accepts a field under its lowerCamelCase name or its proto (snake_case) name,
and the REST documentation uses both (`inline_data`, `mime_type`, `function_declarations`), so
readers normalise an object's keys with `camel` before looking at them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from typing import Any

from shared.canonical.errors import BadRequest, GatewayError

__all__ = [
    "camel",
    "camel_key",
    "error_body",
    "method_path",
    "signature_in",
    "signature_out",
    "status_name",
    "tool_call_id",
]

# Marks a signature that was not base64 (another provider's, or one the edge tagged with its origin)
# and was wrapped to travel as a Gemini `thoughtSignature`. No Gemini signature (a serialised proto)
# starts with a NUL byte.
_WRAPPED = b"\x00omniroute-signature\x00"
_SNAKE = re.compile(r"(?<=[a-z0-9])_([a-z0-9])")

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def camel_key(name: str) -> str:
    return _SNAKE.sub(lambda match: match.group(1).upper(), name)


def camel(value: dict[str, Any]) -> dict[str, Any]:
    """The object with every key in lowerCamelCase (its values untouched)."""
    return {camel_key(key): item for key, item in value.items()}


def method_path(model: str, method: str) -> str:
    """`/v1beta/models/{model}:{method}` (a leading `models/` in the id is not doubled)."""
    name = model.removeprefix("models/")
    suffix = "?alt=sse" if method == "streamGenerateContent" else ""
    return f"/v1beta/models/{name}:{method}{suffix}"


def tool_call_id(key: str, index: int, name: str, arguments: str) -> str:
    """A stable id for a function call Gemini sent without one: from the answer (or turn) and position."""
    digest = hashlib.sha256("\x1f".join((key, str(index), name, arguments)).encode()).hexdigest()
    return f"call_{digest[:24]}"


def signature_out(signature: str) -> str:
    """A signature as a `thoughtSignature`, which is base64 on the wire: the SDKs decode it to bytes
    and encode it again when they send it back, so anything that is not canonical base64 is wrapped."""
    try:
        if base64.b64encode(base64.b64decode(signature, validate=True)).decode() == signature:
            return signature
    except (binascii.Error, ValueError):
        pass
    return base64.b64encode(_WRAPPED + signature.encode()).decode()


def signature_in(signature: str) -> str:
    """The signature a `thoughtSignature` carries: unwrapped if `signature_out` wrapped it."""
    try:
        raw = base64.b64decode(signature, validate=True)
        return raw[len(_WRAPPED) :].decode() if raw.startswith(_WRAPPED) else signature
    except (binascii.Error, ValueError):  # not base64 (UnicodeDecodeError is a ValueError too)
        return signature


def status_name(status: int) -> str:
    """The google.rpc status name Google pairs with an HTTP status."""
    if status in _STATUS_NAMES:
        return _STATUS_NAMES[status]
    return "FAILED_PRECONDITION" if 400 <= status < 500 else "INTERNAL"


def error_body(error: GatewayError) -> dict[str, Any]:
    """`{"error": {"code", "message", "status", "details"}}` as Google APIs answer."""
    details: list[dict[str, Any]] = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": error.code.upper(), "domain": "omniroute"}
    ]
    if isinstance(error, BadRequest) and error.param:
        violation = {"field": error.param, "description": error.message}
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]})
    retry = error.headers.get("Retry-After")
    if retry is not None:
        try:
            seconds = float(retry)
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds):
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{seconds:g}s"})
    return {
        "error": {
            "code": error.status,
            "message": error.message,
            "status": status_name(error.status),
            "details": details,
        }
    }
