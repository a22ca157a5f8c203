"""Gemini's `usageMetadata` and `finishReason`, both directions.

Gemini counts the prompt (`promptTokenCount`, which already includes `cachedContentTokenCount`),
tool-use prompts (`toolUsePromptTokenCount`, from built-in tools), the answer
(`candidatesTokenCount`) and the thinking (`thoughtsTokenCount`) separately. In the canonical
convention input is the whole prompt (prompt + tool-use prompt) and output includes the thinking;
a canonical usage written back puts everything in `promptTokenCount`, so the round trip is exact.
Zero counts may be absent (proto3 JSON omits default values).
"""

from __future__ import annotations

from typing import Any

from shared.canonical.result import StopReason
from shared.canonical.usage import Usage

__all__ = ["FINISH_REASONS", "parse_usage", "stop_reason", "usage_body"]

FINISH_REASONS: dict[StopReason, str] = {
    "end": "STOP",
    "stop_sequence": "STOP",
    "tool_use": "STOP",  # Gemini says STOP for an answer with function calls
    "pause": "STOP",
    "max_tokens": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "refusal": "SAFETY",
    "error": "OTHER",
}

_FILTERED = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
}
_FAILED = {
    "OTHER",
    "LANGUAGE",
    "MALFORMED_FUNCTION_CALL",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
    "MISSING_THOUGHT_SIGNATURE",
    "MALFORMED_RESPONSE",
    "IMAGE_OTHER",
    "NO_IMAGE",
}


def stop_reason(finish: str, has_calls: bool) -> StopReason:
    """The canonical stop reason; an answer that ends with function calls is `tool_use`."""
    if finish == "MAX_TOKENS":
        return "max_tokens"
    if finish in _FILTERED:
        return "content_filter"
    if finish in _FAILED:
        return "error"
    return "tool_use" if has_calls else "end"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_usage(metadata: Any) -> Usage:
    if not isinstance(metadata, dict):
        return Usage()
    thoughts = _count(metadata.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=_count(metadata.get("promptTokenCount")) + _count(metadata.get("toolUsePromptTokenCount")),
        output_tokens=_count(metadata.get("candidatesTokenCount")) + thoughts,
        cached_tokens=_count(metadata.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
        reported=True,
    )


def usage_body(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(0, usage.output_tokens - usage.reasoning_tokens),
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
    }
    if usage.cached_tokens:
        body["cachedContentTokenCount"] = usage.cached_tokens
    if usage.reasoning_tokens:
        body["thoughtsTokenCount"] = usage.reasoning_tokens
    return body
