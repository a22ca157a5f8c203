"""Resilience, limit and idempotency settings: typed, with defaults, read from the snapshot's settings.

The control plane stores them under `settings` keys ("resilience", "rateLimit", "idempotency")
through /api/resilience and /api/rate-limit; every edge reads them from its snapshot, so a change
is in force fleet-wide within a second. Unknown or malformed values fall back to the defaults.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["IdempotencySettings", "KeyLimits", "RateLimitSettings", "ResilienceSettings", "routing_settings"]


class ResilienceSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    # circuit breaker, per provider, shared by every edge
    breaker_failure_threshold: int = 5  # consecutive failures (connect errors, timeouts, 408, 5xx) that open it
    breaker_reset_ms: int = 30_000  # open this long, then one probe request fleet-wide
    breaker_max_reset_ms: int = 300_000  # escalation cap when probes keep failing
    # cooldown, per connection, shared by every edge
    cooldown_base_ms: int = 3_000  # without Retry-After: base x 2^level
    cooldown_max_ms: int = 300_000
    auth_cooldown_ms: int = 300_000  # our credential refused (401/403)
    # timeouts per attempt and the one deadline over all attempts
    connect_timeout_ms: int = 10_000
    first_byte_timeout_ms: int = 120_000
    stream_idle_timeout_ms: int = 300_000
    request_deadline_ms: int = 600_000
    # retries of one target before moving to the next
    max_retries: int = 1
    retry_backoff_ms: int = 250  # jittered: uniform(0.5, 1.5) x base x 2^attempt
    # connection choice within a provider: fill-first | round-robin | least-used | random | p2c
    connection_strategy: str = "fill-first"
    session_ttl_ms: int = 15 * 60 * 1000


class KeyLimits(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Default limits for keys that set none of their own (None: unlimited)."""

    requests_per_minute: int | None = None
    requests_per_day: int | None = None
    tokens_per_minute: int | None = None
    tokens_per_day: int | None = None


class RateLimitSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool = True
    key_defaults: KeyLimits = msgspec.field(default_factory=KeyLimits)
    fallback_divisor: int = 2  # when Redis is unreachable each edge allows limit / this, locally


class IdempotencySettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    window_ms: int = 5_000  # how long a completed answer is replayed
    wait_ms: int = 10_000  # how long a duplicate waits for the first request before a 409
    max_stored_bytes: int = 4 * 1024 * 1024


def _typed(raw: Any, kind: type[Any]) -> Any:
    try:
        return msgspec.convert(raw if isinstance(raw, dict) else {}, kind)
    except msgspec.ValidationError:
        return kind()


def routing_settings(settings: dict[str, Any]) -> tuple[ResilienceSettings, RateLimitSettings, IdempotencySettings]:
    return (
        _typed(settings.get("resilience"), ResilienceSettings),
        _typed(settings.get("rateLimit"), RateLimitSettings),
        _typed(settings.get("idempotency"), IdempotencySettings),
    )
