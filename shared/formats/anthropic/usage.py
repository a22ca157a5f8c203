"""Anthropic's usage object and stop reasons, both directions.

Anthropic reports the prompt in three disjoint parts (`input_tokens` not from a cache,
`cache_creation_input_tokens` written to it, `cache_read_input_tokens` served from it); the
canonical `input_tokens` is their sum, with the two cache counts as its subsets. `output_tokens`
already includes thinking; `output_tokens_details.thinking_tokens` is its reasoning subset.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.result import StopReason
from shared.canonical.usage import Usage

__all__ = ["STOP_REASONS", "STOP_REASON_NAMES", "merge_usage", "parse_usage", "usage_body"]

STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "pause",
    "refusal": "refusal",
    "model_context_window_exceeded": "max_tokens",
}

STOP_REASON_NAMES: dict[StopReason, str] = {
    "end": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause": "pause_turn",
    "refusal": "refusal",
    "content_filter": "refusal",
    "error": "end_turn",
}

_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _thinking_tokens(usage: dict[str, Any]) -> int:
    details = usage.get("output_tokens_details")
    return _count(details.get("thinking_tokens")) if isinstance(details, dict) else 0


def parse_usage(usage: Any) -> Usage:
    """Anthropic's usage object -> canonical usage (an absent object is `reported=False`)."""
    if not isinstance(usage, dict):
        return Usage()
    fresh = _count(usage.get("input_tokens"))
    created = _count(usage.get("cache_creation_input_tokens"))
    read = _count(usage.get("cache_read_input_tokens"))
    return Usage(
        input_tokens=fresh + created + read,
        output_tokens=_count(usage.get("output_tokens")),
        cached_tokens=read,
        cache_creation_tokens=created,
        reasoning_tokens=_thinking_tokens(usage),
        reported=True,
    )


def merge_usage(raw: dict[str, Any], update: Any) -> dict[str, Any]:
    """A streamed usage object after a `message_delta`: its counts are cumulative and replace
    earlier ones, and a count it omits keeps the value `message_start` gave (as the SDK does)."""
    merged = dict(raw)
    if isinstance(update, dict):
        for name in (*_FIELDS, "output_tokens_details"):
            if update.get(name) is not None:
                merged[name] = update[name]
    return merged


def usage_body(usage: Usage) -> dict[str, Any]:
    """Canonical usage -> Anthropic's usage object (the exact inverse of `parse_usage`)."""
    body: dict[str, Any] = {
        "input_tokens": max(0, usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens),
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.output_tokens,
    }
    if usage.reasoning_tokens:
        body["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return body
