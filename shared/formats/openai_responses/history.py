"""OpenAI Responses provider side: canonical messages -> `input` items.

System and developer messages stay in place as messages of that role; an assistant turn becomes
its reasoning items, an assistant message for its text and one function_call per tool call;
each tool result becomes a function_call_output.

Reasoning: OpenAI only takes back reasoning it produced, identified by `encrypted_content`
(requests are sent with `store: false`, so there is no stored item to point at). A thinking part
followed by an opaque one is one reasoning item again (summary + encrypted_content); reasoning
with text only (another model's thoughts) is sent only to upstreams that ask for reasoning back
(`echo_reasoning`), and otherwise left out, as Chat Completions providers leave it out.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, Image, Message, Part, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest
from shared.formats.common import image_url

__all__ = ["PROVIDER", "input_items"]

PROVIDER = "openai_responses"


def _image(image: Image) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "input_image", "image_url": image_url(image)}
    if image.detail:
        out["detail"] = image.detail
    return out


def content_body(parts: tuple[Any, ...]) -> str | list[dict[str, Any]]:
    """Text and images as a message's (or a function output's) content: a string when text only."""
    usable = [part for part in parts if isinstance(part, Text | Image)]
    if all(isinstance(part, Text) for part in usable):
        return "".join(part.text for part in usable if isinstance(part, Text))
    return [_image(part) if isinstance(part, Image) else {"type": "input_text", "text": part.text} for part in usable]


class _Assistant:
    """Writes one assistant turn as items, merging a thinking part with the opaque part after it."""

    def __init__(self, echo_reasoning: bool) -> None:
        self.items: list[dict[str, Any]] = []
        self.text: list[str] = []
        self.mergeable: dict[str, Any] | None = None
        self.echo_reasoning = echo_reasoning

    def _flush_text(self) -> None:
        text = "".join(self.text)
        self.text = []
        if text:
            self.items.append({"type": "message", "role": "assistant", "content": text})

    def _append(self, item: dict[str, Any]) -> None:
        self._flush_text()
        self.items.append(item)
        self.mergeable = None

    def thinking(self, part: Thinking) -> None:
        if part.redacted and not part.text and self.mergeable is not None:
            self.mergeable["encrypted_content"] = part.redacted
            self.mergeable = None
            return
        if not part.text and not part.redacted:
            return
        item: dict[str, Any] = {"type": "reasoning", "summary": []}
        if part.text:
            item["summary"] = [{"type": "summary_text", "text": part.text}]
        if part.redacted:
            item["encrypted_content"] = part.redacted
        self._append(item)
        self.mergeable = item if not part.redacted else None

    def part(self, part: Part) -> None:
        if isinstance(part, Thinking):
            self.thinking(part)
        elif isinstance(part, Text):
            self.text.append(part.text)
            self.mergeable = None
        elif isinstance(part, ToolCall):
            self._append({"type": "function_call", "call_id": part.id, "name": part.name, "arguments": part.arguments})
        elif isinstance(part, Image):
            raise BadRequest(f"Images in assistant messages are not supported by {PROVIDER}.", param="messages")

    def finish(self) -> list[dict[str, Any]]:
        self._flush_text()
        return [
            item
            for item in self.items
            if item["type"] != "reasoning" or "encrypted_content" in item or self.echo_reasoning
        ]


def _assistant(message: Message, echo_reasoning: bool) -> list[dict[str, Any]]:
    writer = _Assistant(echo_reasoning)
    for part in message.content:
        writer.part(part)
    return writer.finish()


def _results(message: Message) -> list[dict[str, Any]]:
    return [
        {"type": "function_call_output", "call_id": part.tool_call_id, "output": content_body(part.content)}
        for part in message.content
        if isinstance(part, ToolResult)
    ]


def input_items(request: ChatRequest, echo_reasoning: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "assistant":
            items.extend(_assistant(message, echo_reasoning))
        elif message.role == "tool":
            items.extend(_results(message))
        else:
            items.append({"type": "message", "role": message.role, "content": content_body(message.content)})
    return items
