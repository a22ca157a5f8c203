"""Typed settings rows: merged, then validated with msgspec.convert on shared/config/resilience.py's structs.

Edge and control read the same shapes. A row stores only the fields ever set (camelCase), so
defaults that change in a later release still apply to everything nobody tuned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import msgspec

from services.control.errors import InvalidField
from shared.config.resilience import IdempotencySettings, RateLimitSettings, ResilienceSettings

__all__ = ["CONNECTION_STRATEGIES", "IDEMPOTENCY", "RATE_LIMIT", "RESILIENCE", "SettingsRow", "merged", "typed"]

CONNECTION_STRATEGIES = ("fill-first", "round-robin", "least-used", "random", "p2c")
_INT_MAX = 2_147_483_647
_AT = re.compile(r"^(.*) - at `\$\.(.+)`$")


@dataclass(frozen=True, slots=True)
class SettingsRow:
    key: str  # the `settings` row
    kind: type[msgspec.Struct]
    check: Callable[[Any, Collection[str]], None]  # (typed value, fields in the change) -> raises InvalidField


def _between(field: str, value: int | None, low: int, high: int = _INT_MAX) -> None:
    if value is not None and not low <= value <= high:
        raise InvalidField(field, f"must be an integer from {low} to {high}")


def _ordered(base: str, top: str, values: tuple[int, int], given: Collection[str]) -> None:
    """base <= max; the field named is the one the caller just changed."""
    if values[0] > values[1]:
        if top in given and base not in given:
            raise InvalidField(top, f"must not be less than {base} ({values[0]})")
        raise InvalidField(base, f"must not exceed {top} ({values[1]})")


def _resilience(value: ResilienceSettings, given: Collection[str]) -> None:
    for info in msgspec.structs.fields(ResilienceSettings):
        item = getattr(value, info.name)
        if isinstance(item, int):
            if info.name == "max_retries":
                _between(info.encode_name, item, 0, 100)
            else:
                _between(info.encode_name, item, 1)
    if value.connection_strategy not in CONNECTION_STRATEGIES:
        raise InvalidField("connectionStrategy", f"must be one of {', '.join(CONNECTION_STRATEGIES)}")
    _ordered("breakerResetMs", "breakerMaxResetMs", (value.breaker_reset_ms, value.breaker_max_reset_ms), given)
    _ordered("cooldownBaseMs", "cooldownMaxMs", (value.cooldown_base_ms, value.cooldown_max_ms), given)


def _rate_limit(value: RateLimitSettings, given: Collection[str]) -> None:
    _between("fallbackDivisor", value.fallback_divisor, 1, 1000)
    for info in msgspec.structs.fields(type(value.key_defaults)):
        _between(f"keyDefaults.{info.encode_name}", getattr(value.key_defaults, info.name), 1)


def _idempotency(value: IdempotencySettings, given: Collection[str]) -> None:
    _between("windowMs", value.window_ms, 1000)
    _between("waitMs", value.wait_ms, 0)
    _between("maxStoredBytes", value.max_stored_bytes, 1)


RESILIENCE = SettingsRow("resilience", ResilienceSettings, _resilience)
RATE_LIMIT = SettingsRow("rateLimit", RateLimitSettings, _rate_limit)
IDEMPOTENCY = SettingsRow("idempotency", IdempotencySettings, _idempotency)


def _known(kind: type[msgspec.Struct], change: dict[str, Any], prefix: str = "") -> None:
    fields = {info.encode_name: info for info in msgspec.structs.fields(kind)}
    for key, value in change.items():
        info = fields.get(key)
        if info is None:
            raise InvalidField(f"{prefix}{key}"[:128], f"unknown field; known: {', '.join(fields)}")
        nested = info.type
        if isinstance(nested, type) and issubclass(nested, msgspec.Struct) and isinstance(value, dict):
            _known(nested, value, f"{prefix}{key}.")


def _merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in change.items():
        current = out.get(key)
        out[key] = _merge(current, value) if isinstance(value, dict) and isinstance(current, dict) else value
    return out


def typed(row: SettingsRow, stored: Any) -> Any:
    """The stored overrides over the defaults; a malformed row reads as the defaults, as on the edge."""
    try:
        return msgspec.convert(stored if isinstance(stored, dict) else {}, row.kind)
    except msgspec.ValidationError:
        return row.kind()


def merged(row: SettingsRow, stored: Any, change: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """(overrides to store, typed value) after applying `change`; raises InvalidField naming the field."""
    _known(row.kind, change)
    overrides = _merge(stored if isinstance(stored, dict) else {}, change)
    try:
        value = msgspec.convert(overrides, row.kind)
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        raise InvalidField(match.group(2) if match else "body", match.group(1) if match else str(exc)) from None
    row.check(value, change.keys())
    return overrides, value
