"""Turning an upstream's error answer into the gateway's error tree, for every provider dialect.

The dialect extracts the upstream's message from its own error shape; the status decides the
rest: whether the dispatcher may retry or fall back, and what the caller sees. A refused
credential is never the caller's fault and its text is never echoed (it may quote our key).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from shared.canonical.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unprocessable,
    UpstreamError,
    UpstreamTimeout,
)
from shared.logs import redact

__all__ = ["classify", "clean_message", "retry_after_seconds"]


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms` or `Retry-After` (seconds); None when neither is usable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):  # "inf" or "1e999" would crash math.ceil
            return max(0.0, value)
    raw = headers.get("retry-after")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return None  # HTTP-date form: not worth trusting a skewed clock for
        return max(0.0, value) if math.isfinite(value) else None
    return None


def clean_message(message: object) -> str | None:
    if not isinstance(message, str) or not message:
        return None
    return redact(message)[:2000]


def classify(status: int, headers: Mapping[str, str], message: str | None) -> GatewayError:
    if status == 429:
        wait = retry_after_seconds(headers)
        extra = {"Retry-After": str(math.ceil(wait))} if wait is not None else {}
        return RateLimited(message or "The upstream provider is rate limiting requests.", headers=extra)
    if status in (401, 403):
        return UpstreamError("The upstream provider refused the gateway's credentials.", code="upstream_auth_error")
    if status == 404:
        return NotFound(
            message or "The upstream provider does not know this model.", code="model_not_found", fallback_allowed=True
        )
    if status == 408:
        return UpstreamTimeout("The upstream provider timed out (HTTP 408).")
    if status == 413:
        return PayloadTooLarge(message or "The request is too large for the upstream provider.")
    if status == 422:
        return Unprocessable(message or "The upstream provider could not process the request.")
    if 400 <= status < 500:
        return BadRequest(message or f"The upstream provider rejected the request (HTTP {status}).")
    return UpstreamError(
        f"The upstream provider failed (HTTP {status}).", code="upstream_error", retryable=True, fallback_allowed=True
    )
