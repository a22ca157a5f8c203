"""Ollama's token counts and done reasons, both directions.

Usage: `prompt_eval_count` is the whole prompt (canonical input) and `eval_count` everything
generated, thinking included (canonical output); Ollama reports no cache or reasoning split, so
the round trip is exact for what it carries. Counts absent from the final object (Go omits zero
values, and a model load reports none) mean no usage was reported.

Done reasons: "stop" (also when the model called tools: Ollama has no tool-use reason, so a
stop with tool calls reads as "tool_use"), "length" (num_predict reached), "load" / "unload"
(an empty conversation only loaded or unloaded the model).
"""

from __future__ import annotations

from typing import Any

from shared.canonical.result import StopReason
from shared.canonical.usage import Usage

__all__ = ["done_reason", "parse_usage", "stop_reason", "usage_fields"]

_COUNTS = ("prompt_eval_count", "eval_count")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_usage(body: dict[str, Any]) -> Usage:
    if not any(isinstance(body.get(name), int) for name in _COUNTS):
        return Usage()
    return Usage(
        input_tokens=_count(body.get("prompt_eval_count")),
        output_tokens=_count(body.get("eval_count")),
        reported=True,
    )


def usage_fields(usage: Usage) -> dict[str, int]:
    """The counts of a final object (none when the upstream reported no usage)."""
    if not usage.reported:
        return {}
    return {"prompt_eval_count": usage.input_tokens, "eval_count": usage.output_tokens}


def stop_reason(reason: Any, called_tools: bool) -> StopReason:
    if reason == "length":
        return "max_tokens"
    return "tool_use" if called_tools else "end"


def done_reason(reason: StopReason) -> str:
    return "length" if reason == "max_tokens" else "stop"
