"""OpenAI Responses usage object and response status, both directions.

Usage follows OpenAI's own convention (the canonical one): `input_tokens` includes
`input_tokens_details.cached_tokens`, `output_tokens` includes
`output_tokens_details.reasoning_tokens`. There is no cache-creation count.

Status: `incomplete` with `incomplete_details.reason` "max_output_tokens" or "content_filter"
decides first (a call cut off by the token limit must not look runnable); otherwise function
calls in the output mean tool_use, a refusal part means refusal, anything else is the end.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.result import StopReason
from shared.canonical.usage import Usage

__all__ = ["parse_usage", "status_for", "stop_reason", "usage_body"]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _detail(details: Any, name: str) -> int:
    return _count(details.get(name)) if isinstance(details, dict) else 0


def parse_usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    return Usage(
        input_tokens=_count(usage.get("input_tokens")),
        output_tokens=_count(usage.get("output_tokens")),
        cached_tokens=_detail(usage.get("input_tokens_details"), "cached_tokens"),
        reasoning_tokens=_detail(usage.get("output_tokens_details"), "reasoning_tokens"),
        reported=True,
    )


def usage_body(usage: Usage) -> dict[str, Any] | None:
    """The usage object, or None when the upstream reported none (so a round trip keeps `reported`)."""
    if not usage.reported:
        return None
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def stop_reason(response: dict[str, Any], has_calls: bool, refused: bool) -> StopReason:
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return "content_filter" if reason == "content_filter" else "max_tokens"
    if has_calls:
        return "tool_use"
    return "refusal" if refused else "end"


def status_for(stop: StopReason) -> tuple[str, dict[str, str] | None]:
    """The response `status` and `incomplete_details` that say `stop` on the wire."""
    if stop == "max_tokens":
        return "incomplete", {"reason": "max_output_tokens"}
    if stop in ("content_filter", "refusal"):
        return "incomplete", {"reason": "content_filter"}
    return "completed", None
