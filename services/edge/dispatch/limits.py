"""Limit decisions as the caller sees them: OpenAI-style rate-limit headers and the 429 refusal.

Requests limits are consumed with cost 1 and token limits with the estimated input tokens at
admission; the difference to the real total is charged when the request is settled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shared.canonical.errors import RateLimited
from shared.config.limits import NamedLimit
from shared.kv.ratelimit import LimitDecision

__all__ = ["Decided", "duration", "limit_headers", "refusal"]


@dataclass(frozen=True, slots=True)
class Decided:
    limit: NamedLimit
    decision: LimitDecision


def duration(ms: int) -> str:
    """OpenAI's reset format: `17ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`."""
    ms = max(0, ms)
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def _tightest(decided: Sequence[Decided], unit: str) -> Decided | None:
    """Of one unit's limits, the one closest to refusing (the one a caller must pace by)."""
    found = [d for d in decided if d.limit.unit == unit]
    if not found:
        return None
    return min(found, key=lambda d: (d.decision.allowed, d.decision.remaining, -d.decision.reset_ms))


def limit_headers(decided: Sequence[Decided]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for unit in ("requests", "tokens"):
        tightest = _tightest(decided, unit)
        if tightest is None:
            continue
        decision = tightest.decision
        headers[f"x-ratelimit-limit-{unit}"] = str(decision.limit)
        headers[f"x-ratelimit-remaining-{unit}"] = str(max(0, decision.remaining))
        headers[f"x-ratelimit-reset-{unit}"] = duration(decision.reset_ms)
    return headers


def _describe(limit: NamedLimit) -> str:
    return f"{limit.rate.limit} {limit.unit} per {limit.window}"


def refusal(decided: Sequence[Decided], whose: str) -> RateLimited | None:
    """The 429 for a refused consume, or None when it was admitted. `whose`: "API key" or "connection"."""
    refused = [d for d in decided if not d.decision.allowed]
    if not refused:
        return None
    headers = limit_headers(decided)
    impossible = [d for d in refused if d.decision.retry_after_ms < 0]
    if impossible:
        limit = impossible[0].limit
        headers["x-should-retry"] = "false"
        return RateLimited(
            f"This request alone exceeds the {whose} limit of {_describe(limit)}; it can never be admitted.",
            code="rate_limit_exceeded",
            retryable=False,
            fallback_allowed=False,
            headers=headers,
        )
    wait = max(d.decision.retry_after_ms for d in refused)
    limit = max(refused, key=lambda d: d.decision.retry_after_ms).limit
    headers["Retry-After"] = str(max(1, math.ceil(wait / 1000)))
    headers["retry-after-ms"] = str(wait)
    return RateLimited(
        f"Rate limit reached for this {whose}: {_describe(limit)}. Try again in {duration(wait)}.",
        code="rate_limit_exceeded",
        fallback_allowed=False,
        headers=headers,
    )
