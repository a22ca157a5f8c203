"""The canonical chat request: what every client dialect parses into and every provider dialect builds from.

Normal form (parsers must produce it, builders may rely on it):
- `messages` keep the client's order. System/developer instructions are messages with role
  "system" or "developer" (dialects that hoist a system prompt collect them; dialects without
  "developer" treat it as "system").
- A tool result is a `ToolResult` part inside a message of role "tool"; several results answering
  one assistant turn may share one message. A dialect that mixes results with user text in one
  message (Anthropic) is split by its parser into a "tool" message followed by a "user" message.
- Assistant turns carry `Thinking` parts (with signatures) before the `Text` / `ToolCall` parts
  they led to, in the order the model produced them.
- Tool call `arguments` is JSON text exactly as the model produced it ("{}" when it had none).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "ChatRequest",
    "Image",
    "Message",
    "Part",
    "ReasoningConfig",
    "ResponseFormat",
    "Role",
    "Text",
    "Thinking",
    "ToolCall",
    "ToolChoice",
    "ToolResult",
    "ToolSpec",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]


class Text(msgspec.Struct, frozen=True, tag="text"):
    text: str


class Image(msgspec.Struct, frozen=True, tag="image"):
    """An image by URL, or inline as base64 `data` (no `data:` prefix) with its `media_type`."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None  # OpenAI's "low" | "high" | "auto"


class Thinking(msgspec.Struct, frozen=True, tag="thinking"):
    """Reasoning the model showed (or hid): Anthropic thinking, OpenAI reasoning_content, Gemini thoughts.

    `signature` is the provider's opaque proof that must be sent back unchanged on the next turn
    (Anthropic `signature`, Gemini `thoughtSignature` of a thought part). `redacted` holds an
    opaque encrypted blob instead of text (Anthropic `redacted_thinking.data`, OpenAI Responses
    `encrypted_content`).
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    origin: str | None = None  # the provider dialect that issued `signature`/`redacted` (set by the edge)


class ToolCall(msgspec.Struct, frozen=True, tag="tool_call"):
    """A function call. `signature` is the Gemini `thoughtSignature` attached to the functionCall part."""

    id: str
    name: str
    arguments: str = "{}"
    signature: str | None = None
    origin: str | None = None  # the provider dialect that issued `signature` (set by the edge)


class ToolResult(msgspec.Struct, frozen=True, tag="tool_result"):
    """The answer to a tool call; `name` is the function's name when known (Gemini needs it)."""

    tool_call_id: str
    content: tuple[Text | Image, ...] = ()
    is_error: bool = False
    name: str | None = None


Part = Text | Image | Thinking | ToolCall | ToolResult


class Message(msgspec.Struct, frozen=True):
    role: Role
    content: tuple[Part, ...]
    name: str | None = None


class ToolSpec(msgspec.Struct, frozen=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolChoice(msgspec.Struct, frozen=True):
    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None  # when mode == "tool"


class ResponseFormat(msgspec.Struct, frozen=True):
    type: Literal["text", "json_object", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None


class ReasoningConfig(msgspec.Struct, frozen=True):
    """What the client asked for: an effort level, a token budget, or explicit on/off."""

    effort: str | None = None  # "minimal" | "low" | "medium" | "high" | ...
    budget_tokens: int | None = None
    enabled: bool | None = None
    include_thoughts: bool | None = None  # Gemini includeThoughts / Ollama think / show reasoning


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    messages: tuple[Message, ...]
    stream: bool = False
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning: ReasoningConfig | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    wants_usage_in_stream: bool = False  # OpenAI stream_options.include_usage
    dialect: str = ""  # the client dialect this was parsed from
    # Client features the canonical model cannot carry (e.g. "audio input", "n > 1"): fine when the
    # provider speaks the client's dialect (the body passes through), a clear 400 otherwise.
    unsupported: tuple[str, ...] = ()
    # Allow-listed client headers a provider of the same family understands (e.g. anthropic-beta).
    client_headers: tuple[tuple[str, str], ...] = ()

    @property
    def system_text(self) -> str | None:
        """All system/developer text joined, for dialects with one system field (None if absent)."""
        texts = [
            part.text
            for message in self.messages
            if message.role in ("system", "developer")
            for part in message.content
            if isinstance(part, Text)
        ]
        return "\n\n".join(texts) if texts else None

    def has_images(self) -> bool:
        for message in self.messages:
            for part in message.content:
                if isinstance(part, Image):
                    return True
                if isinstance(part, ToolResult) and any(isinstance(p, Image) for p in part.content):
                    return True
        return False
