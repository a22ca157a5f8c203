"""OpenAI Chat Completions, provider side: build the upstream body, read usage, classify errors."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from shared import jsonx
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
from shared.canonical.usage import Usage
from shared.logs import redact

__all__ = ["build_request", "classify_error", "parse_usage", "retry_after_seconds", "usage_from_body"]


def build_request(body: dict[str, Any], upstream_model: str, stream: bool) -> bytes:
    """The client's body, forwarded as is apart from the model id and, when streaming, a usage request."""
    outgoing = dict(body)
    outgoing["model"] = upstream_model
    if stream:
        options = dict(outgoing.get("stream_options") or {})
        options["include_usage"] = True  # metering needs the final usage chunk
        outgoing["stream_options"] = options
    return jsonx.dumps(outgoing)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    return Usage(
        input_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        cached_tokens=_int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else 0,
        reasoning_tokens=(
            _int(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else 0
        ),
        reported=True,
    )


def usage_from_body(raw: bytes) -> Usage:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        return Usage()
    return parse_usage(body.get("usage")) if isinstance(body, dict) else Usage()


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms` or `Retry-After` (seconds); None when neither is usable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):  # "inf" or "1e999" would crash math.ceil in classify_error
            return max(0.0, value)
    raw = headers.get("retry-after")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return None  # HTTP-date form: not worth trusting a skewed clock for
        return max(0.0, value) if math.isfinite(value) else None
    return None


def _upstream_message(raw: bytes) -> str | None:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error if isinstance(error, str) else None
    if not isinstance(message, str) or not message:
        return None
    return redact(message)[:2000]


def classify_error(status: int, headers: Mapping[str, str], raw: bytes) -> GatewayError:
    """Turn an upstream error answer into the gateway's error, deciding retry and fallback."""
    message = _upstream_message(raw)
    if status == 429:
        wait = retry_after_seconds(headers)
        extra = {"Retry-After": str(math.ceil(wait))} if wait is not None else {}
        return RateLimited(message or "The upstream provider is rate limiting requests.", headers=extra)
    if status in (401, 403):
        # Our credential was refused: never the caller's fault, never echo the provider's text.
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
