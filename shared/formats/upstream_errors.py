"""Turning an upstream's error answer into the gateway's error tree, for every provider dialect.

The dialect extracts the upstream's message from its own error shape; the status decides the
rest: whether the dispatcher may retry or fall back, and what the caller sees. A refused
credential is never the caller's fault and its text is never echoed (it may quote our key).
"""

from __future__ import annotations

import math
import re
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


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?")
_RESET_HEADERS = ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")


def _duration_seconds(raw: str) -> float | None:
    """OpenAI's reset durations: `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3s`."""
    match = _DURATION.fullmatch(raw.strip())
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(group) if group else 0.0 for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _reset_seconds(headers: Mapping[str, str]) -> float | None:
    """The longest of the upstream's rate-limit reset hints, when it gave no Retry-After."""
    found = [_duration_seconds(headers[name]) for name in _RESET_HEADERS if headers.get(name)]
    usable = [value for value in found if value is not None]
    return max(usable) if usable else None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms`, `Retry-After` (seconds) or the rate-limit reset
    headers; None when none is usable."""
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
            return _reset_seconds(headers)  # HTTP-date form: not worth trusting a skewed clock for
        return max(0.0, value) if math.isfinite(value) else None
    return _reset_seconds(headers)


def clean_message(message: object) -> str | None:
    if not isinstance(message, str) or not message:
        return None
    return redact(message)[:2000]


def classify(status: int, headers: Mapping[str, str], message: str | None) -> GatewayError:
    if status == 429:
        wait = retry_after_seconds(headers)
        extra = (
            {"Retry-After": str(math.ceil(wait)), "retry-after-ms": str(round(wait * 1000))} if wait is not None else {}
        )
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
