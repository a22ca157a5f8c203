"""Policies: first match in priority order; model globs, keys, days and hours (UTC, across midnight)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.config.snapshot import PolicyConfig
from shared.routing.policy import PolicyDecision, evaluate

MONDAY_NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


def policy(name: str, **fields: object) -> PolicyConfig:
    return PolicyConfig(id=name, name=name, **fields)  # type: ignore[arg-type]


def test_first_match_wins_and_no_match_allows() -> None:
    policies = (
        policy("no-opus", priority=1, models=("*/claude-opus*",), effect="deny"),
        policy("cheap", priority=2, models=("*",), prefer_providers=("groq",), max_tokens=512),
    )
    assert evaluate(policies, "anthropic/claude-opus-4-1", "k", MONDAY_NOON).deny
    cheap = evaluate(policies, "openai/gpt-4o", "k", MONDAY_NOON)
    assert cheap == PolicyDecision("cheap", False, ("groq",), 512)
    assert evaluate((), "x", None) == PolicyDecision()


def test_keys_days_and_hours() -> None:
    only_key = (policy("p", key_ids=("k1",), effect="deny"),)
    assert evaluate(only_key, "m", "k1", MONDAY_NOON).deny
    assert not evaluate(only_key, "m", "k2", MONDAY_NOON).deny
    weekend = (policy("p", days=(5, 6), effect="deny"),)
    assert not evaluate(weekend, "m", None, MONDAY_NOON).deny
    night = (policy("p", hour_from=22, hour_to=6, effect="deny"),)
    assert evaluate(night, "m", None, datetime(2026, 11, 23, 23, tzinfo=UTC)).deny
    assert evaluate(night, "m", None, datetime(2026, 11, 23, 5, tzinfo=UTC)).deny
    assert not evaluate(night, "m", None, MONDAY_NOON).deny
