"""The limits in force for an API key or a provider connection, named as the limiter stores them.

The edge consumes them at admission (keys) and per attempt (connections); the control plane
peeks the same names for `/api/rate-limits`. A name carries a hash tag per key or connection, so
one consume over all of a key's limits touches a single Redis Cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.config.resilience import KeyLimits
from shared.config.snapshot import ConnectionConfig, KeyConfig
from shared.kv.ratelimit import Rate

__all__ = ["DAY_MS", "MINUTE_MS", "NamedLimit", "connection_limits", "key_limits", "scaled"]

MINUTE_MS = 60_000
DAY_MS = 24 * 3600 * 1000

Unit = Literal["requests", "tokens"]
Window = Literal["minute", "day"]
_PERIOD: dict[Window, int] = {"minute": MINUTE_MS, "day": DAY_MS}


@dataclass(frozen=True, slots=True)
class NamedLimit:
    name: str  # the limiter key, e.g. "k:{key id}:rpm"
    unit: Unit
    window: Window
    rate: Rate


def _limit(owner: str, unit: Unit, window: Window, value: int | None) -> NamedLimit | None:
    if value is None or value < 1:
        return None
    short = ("r" if unit == "requests" else "t") + "p" + window[0]
    return NamedLimit(f"{owner}:{short}", unit, window, Rate(value, _PERIOD[window]))


def _present(*limits: NamedLimit | None) -> list[NamedLimit]:
    return [limit for limit in limits if limit is not None]


def key_limits(key: KeyConfig, defaults: KeyLimits) -> list[NamedLimit]:
    """A key's own limits; where it sets none of a kind, the fleet default for keys."""
    owner = "k:{" + key.id + "}"
    return _present(
        _limit(owner, "requests", "minute", key.max_requests_per_minute or defaults.requests_per_minute),
        _limit(owner, "requests", "day", key.max_requests_per_day or defaults.requests_per_day),
        _limit(owner, "tokens", "minute", key.max_tokens_per_minute or defaults.tokens_per_minute),
        _limit(owner, "tokens", "day", defaults.tokens_per_day),
    )


def connection_limits(connection: ConnectionConfig) -> list[NamedLimit]:
    owner = "c:{" + connection.id + "}"
    return _present(
        _limit(owner, "requests", "minute", connection.max_requests_per_minute),
        _limit(owner, "requests", "day", connection.max_requests_per_day),
        _limit(owner, "tokens", "minute", connection.max_tokens_per_minute),
    )


def scaled(limit: NamedLimit, divisor: int) -> NamedLimit:
    """The share one edge may admit on its own while Redis is unreachable (at least 1)."""
    if divisor <= 1:
        return limit
    rate = Rate(max(1, limit.rate.limit // divisor), limit.rate.period_ms)
    return NamedLimit(limit.name, limit.unit, limit.window, rate)
