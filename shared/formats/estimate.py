"""A local token estimate for providers without a counting endpoint (about four characters a token)."""

from __future__ import annotations

from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, Text, Thinking, ToolCall, ToolResult

__all__ = ["estimate_input_tokens"]

_PER_MESSAGE = 3
_PER_IMAGE = 85  # a low-detail image in OpenAI's accounting


def _characters(request: ChatRequest) -> tuple[int, int]:
    characters, images = 0, 0
    for message in request.messages:
        for part in message.content:
            if isinstance(part, Text | Thinking):
                characters += len(part.text)
            elif isinstance(part, ToolCall):
                characters += len(part.name) + len(part.arguments)
            elif isinstance(part, ToolResult):
                characters += sum(len(p.text) for p in part.content if isinstance(p, Text))
                images += sum(1 for p in part.content if isinstance(p, Image))
            elif isinstance(part, Image):
                images += 1
    for tool in request.tools:
        characters += len(tool.name) + len(tool.description or "") + len(jsonx.dumps(tool.parameters))
    return characters, images


def estimate_input_tokens(request: ChatRequest) -> int:
    characters, images = _characters(request)
    return (characters + 3) // 4 + _PER_MESSAGE * len(request.messages) + _PER_IMAGE * images
