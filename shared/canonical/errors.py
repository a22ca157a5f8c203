"""One error tree for the gateway.

Each error knows its HTTP status, a machine code, whether the caller may retry, whether the
dispatcher may fall back to the next target, and a message that is safe to show to the caller
(no upstream secrets, no stack traces). Each client dialect renders these in its own shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "GatewayError",
    "InternalError",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServiceUnavailable",
    "Unprocessable",
    "UpstreamError",
    "UpstreamTimeout",
]


@dataclass(eq=False)
class GatewayError(Exception):
    message: str
    status: int = 500
    code: str = "internal_error"
    kind: str = "api_error"  # OpenAI's error `type`
    retryable: bool = False
    fallback_allowed: bool = False
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(eq=False)
class BadRequest(GatewayError):
    status: int = 400
    code: str = "invalid_request"
    kind: str = "invalid_request_error"


@dataclass(eq=False)
class AuthenticationError(GatewayError):
    status: int = 401
    code: str = "invalid_api_key"
    kind: str = "authentication_error"


@dataclass(eq=False)
class PermissionDenied(GatewayError):
    status: int = 403
    code: str = "permission_denied"
    kind: str = "permission_error"


@dataclass(eq=False)
class NotFound(GatewayError):
    status: int = 404
    code: str = "not_found"
    kind: str = "invalid_request_error"


@dataclass(eq=False)
class Conflict(GatewayError):
    status: int = 409
    code: str = "conflict"
    kind: str = "invalid_request_error"


@dataclass(eq=False)
class PayloadTooLarge(GatewayError):
    status: int = 413
    code: str = "request_too_large"
    kind: str = "invalid_request_error"


@dataclass(eq=False)
class Unprocessable(GatewayError):
    status: int = 422
    code: str = "unprocessable"
    kind: str = "invalid_request_error"


@dataclass(eq=False)
class RateLimited(GatewayError):
    status: int = 429
    code: str = "rate_limit_exceeded"
    kind: str = "rate_limit_error"
    retryable: bool = True
    fallback_allowed: bool = True


@dataclass(eq=False)
class UpstreamError(GatewayError):
    status: int = 502
    code: str = "upstream_error"
    kind: str = "api_error"
    retryable: bool = True
    fallback_allowed: bool = True


@dataclass(eq=False)
class ServiceUnavailable(GatewayError):
    status: int = 503
    code: str = "service_unavailable"
    kind: str = "api_error"
    retryable: bool = True


@dataclass(eq=False)
class UpstreamTimeout(GatewayError):
    status: int = 504
    code: str = "upstream_timeout"
    kind: str = "api_error"
    retryable: bool = True
    fallback_allowed: bool = True


@dataclass(eq=False)
class InternalError(GatewayError):
    status: int = 500
    code: str = "internal_error"
    kind: str = "api_error"
