"""Canonical parts -> Anthropic content blocks (answers, and assistant turns sent upstream)."""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import Part, Text, Thinking, ToolCall
from shared.formats.common import arguments_object

__all__ = ["output_block"]


def _thinking(part: Thinking) -> dict[str, Any]:
    if part.redacted is not None and not part.text:
        return {"type": "redacted_thinking", "data": part.redacted}
    return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}


def output_block(part: Part) -> dict[str, Any] | None:
    """An assistant content block; None for parts an assistant turn cannot hold."""
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, Thinking):
        return _thinking(part)
    if isinstance(part, ToolCall):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": arguments_object(part.arguments)}
    return None
