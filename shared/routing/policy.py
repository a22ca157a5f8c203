"""Routing policies from the snapshot, evaluated at the edge in priority order (first match wins).

A policy matches on the requested model (globs), the API key and a UTC time window, and then
allows or denies the request, puts preferred providers first, or caps max_tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase

from shared.config.snapshot import PolicyConfig

__all__ = ["PolicyDecision", "evaluate"]


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    name: str | None = None  # the policy that matched, if any
    deny: bool = False
    prefer_providers: tuple[str, ...] = ()
    max_tokens: int | None = None


def _matches(policy: PolicyConfig, model: str, key_id: str | None, now: datetime) -> bool:
    if policy.models and not any(fnmatchcase(model, glob) for glob in policy.models):
        return False
    if policy.key_ids and key_id not in policy.key_ids:
        return False
    if policy.days and now.weekday() not in policy.days:
        return False
    if policy.hour_from is not None and policy.hour_to is not None:
        hour = now.hour
        inside = (
            policy.hour_from <= hour < policy.hour_to
            if policy.hour_from <= policy.hour_to
            else (
                hour >= policy.hour_from or hour < policy.hour_to  # a window across midnight
            )
        )
        if not inside:
            return False
    return True


def evaluate(
    policies: tuple[PolicyConfig, ...], model: str, key_id: str | None, now: datetime | None = None
) -> PolicyDecision:
    moment = now or datetime.now(UTC)
    for policy in policies:
        if _matches(policy, model, key_id, moment):
            return PolicyDecision(
                name=policy.name,
                deny=policy.effect == "deny",
                prefer_providers=policy.prefer_providers,
                max_tokens=policy.max_tokens,
            )
    return PolicyDecision()
