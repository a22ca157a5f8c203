"""What each failed attempt was, what it does to the fleet's state, and the error when all fail.

An upstream outcome is classified once (reliability study §1.2):
- connect errors, timeouts, 408 and 5xx count toward the provider's circuit breaker;
- 429 cools the connection for the upstream's Retry-After (else exponentially);
- 401/403 of our credential cool the connection for `auth_cooldown_ms`;
- 404 model moves on without touching shared state (the connection serves other models);
- the caller's own errors (400/413/422) stop the request: another target would refuse it too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shared.canonical.errors import (
    GatewayError,
    RateLimited,
    ServiceUnavailable,
    UpstreamError,
    UpstreamTimeout,
)

__all__ = ["Attempt", "Effect", "effect_of", "exhausted", "retry_hint_ms", "same_target_retry"]

Effect = Literal["breaker", "cooldown", "auth", "none"]

_BREAKER_CODES = frozenset(
    {
        "upstream_error",
        "upstream_unreachable",
        "upstream_connection_error",
        "upstream_timeout",
        "upstream_first_byte_timeout",
        "upstream_idle_timeout",  # a stream that went silent after its first byte
        "stream_interrupted",  # a stream that broke off before its end
    }
)
_RETRY_SAME_TARGET = frozenset({"upstream_error", "upstream_timeout"})  # 5xx and 408: the server spoke
_MAX_MESSAGE = 1800


@dataclass(frozen=True, slots=True)
class Attempt:
    """One target that did not answer: tried and failed, or skipped without sending."""

    provider: str
    model: str
    connection: str | None  # the connection's name, for people reading the error
    reason: str  # the error code, or why it was skipped: cooldown | breaker_open | connection_limited
    status: int = 0  # the status this attempt would have given the caller; 0 when skipped
    message: str = ""
    retry_in_ms: int = 0
    tried: bool = True
    error: GatewayError | None = None

    def describe(self) -> str:
        where = f"{self.provider}/{self.model}" + (f" via '{self.connection}'" if self.connection else "")
        if not self.tried:
            wait = f" for {math.ceil(self.retry_in_ms / 100) / 10:g}s" if self.retry_in_ms > 0 else ""
            return f"{where}: skipped ({self.reason}{wait})"
        return f"{where}: {self.status} {self.reason} ({self.message})"


def effect_of(error: GatewayError) -> Effect:
    if error.code == "upstream_auth_error":
        return "auth"
    if isinstance(error, RateLimited) and error.fallback_allowed:
        return "cooldown"
    if isinstance(error, UpstreamError | UpstreamTimeout) and error.code in _BREAKER_CODES:
        return "breaker"
    return "none"


def same_target_retry(error: GatewayError) -> bool:
    """Worth one more try on the same target (after a jittered pause): the server answered 5xx or 408."""
    return error.code in _RETRY_SAME_TARGET and isinstance(error, UpstreamError | UpstreamTimeout)


def retry_hint_ms(error: GatewayError) -> int | None:
    """The upstream's own wait hint (set by the provider error classifier), in ms."""
    raw = error.headers.get("retry-after-ms")
    if raw is None:
        seconds = error.headers.get("Retry-After")
        return int(seconds) * 1000 if seconds is not None and seconds.isdigit() else None
    try:
        return max(0, int(raw))
    except ValueError:
        return None


def _wait_headers(ms: int) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(ms / 1000))), "retry-after-ms": str(ms)}


def _listing(attempts: Sequence[Attempt]) -> str:
    text = "; ".join(f"{i}) {attempt.describe()}" for i, attempt in enumerate(attempts, 1))
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def exhausted(attempts: Sequence[Attempt], deadline_hit: bool = False) -> GatewayError:
    """The one error for a request whose every target failed or was unavailable."""
    tried = [a for a in attempts if a.tried]
    header = {"X-OmniRoute-Fallback-Attempts": str(len(tried))} if tried else {}
    places = {(a.provider, a.model, a.connection) for a in attempts}
    if len(places) == 1 and attempts[-1].error is not None and not deadline_hit:
        error = attempts[-1].error  # one target (perhaps retried): its own error says it best
        error.headers = {**error.headers, **header}
        return error
    listing = _listing(attempts)
    waits = [a.retry_in_ms for a in attempts if a.retry_in_ms > 0]
    wait = min(waits) if waits else 0
    limited = {"rate_limit_exceeded", "cooldown", "connection_limited"}
    if deadline_hit:
        return UpstreamTimeout(
            f"The request deadline passed after {len(tried)} attempt(s): {listing}",
            code="deadline_exceeded",
            fallback_allowed=False,
            headers=header,
        )
    if attempts and all(a.reason in limited for a in attempts):
        return RateLimited(
            f"Every target is rate limited or cooling down: {listing}",
            fallback_allowed=False,
            headers={**header, **(_wait_headers(wait) if wait else {})},
        )
    if attempts and all(not a.tried for a in attempts):
        return ServiceUnavailable(
            f"No target is available right now: {listing}",
            code="no_target_available",
            headers={**header, **(_wait_headers(wait) if wait else {})},
        )
    if tried and all(isinstance(a.error, UpstreamTimeout) for a in tried):
        return UpstreamTimeout(f"Every target timed out: {listing}", code="all_targets_failed", headers=header)
    return UpstreamError(
        f"All {len(attempts)} targets failed: {listing}",
        code="all_targets_failed",
        fallback_allowed=False,
        headers=header,
    )
