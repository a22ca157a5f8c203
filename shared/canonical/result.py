"""The canonical answer to a chat request (non-streaming, or a folded stream)."""

from __future__ import annotations

from typing import Literal

import msgspec

from shared.canonical.chat import Text, Thinking, ToolCall
from shared.canonical.usage import Usage

__all__ = ["ChatResult", "OutputPart", "StopReason"]

# "end": the model finished (OpenAI "stop", Anthropic "end_turn", Gemini "STOP", Ollama "stop").
StopReason = Literal["end", "max_tokens", "tool_use", "stop_sequence", "content_filter", "refusal", "pause", "error"]

OutputPart = Text | Thinking | ToolCall


class ChatResult(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    model: str
    content: tuple[OutputPart, ...] = ()
    stop_reason: StopReason = "end"
    stop_sequence: str | None = None
    usage: Usage = Usage()
    created: int = 0  # epoch seconds, when the upstream said

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.content if isinstance(part, Text))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(part for part in self.content if isinstance(part, ToolCall))
