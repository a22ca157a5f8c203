"""Anthropic Messages, client side: canonical stream events -> the named SSE events the SDK reads.

`message_start` first (a message with empty content), then per block `content_block_start`,
its deltas (text_delta, thinking_delta, signature_delta, input_json_delta) and
`content_block_stop` at the same index, then `message_delta` (stop reason and the cumulative
usage, input counts included for upstreams that report them only at the end) and `message_stop`.
A Failure ends the stream with `event: error` and no `message_stop`.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.events import (
    ArgumentsDelta,
    BlockKind,
    BlockStart,
    BlockStop,
    Finish,
    SignatureDelta,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UsageUpdate,
)
from shared.canonical.usage import Usage
from shared.formats.anthropic.inbound import error_body
from shared.formats.anthropic.usage import STOP_REASON_NAMES, usage_body
from shared.sse import event_frame

__all__ = ["MessagesStreamRenderer", "stream_renderer"]


def _frame(name: str, payload: dict[str, Any]) -> bytes:
    return event_frame(name, jsonx.dumps({"type": name, **payload}))


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return _frame("content_block_delta", {"index": index, "delta": delta})


def _content_block(event: BlockStart) -> dict[str, Any]:
    if event.kind == "tool_call":
        return {"type": "tool_use", "id": event.tool_call_id or "", "name": event.tool_name or "", "input": {}}
    if event.kind == "thinking" and event.redacted is not None:
        return {"type": "redacted_thinking", "data": event.redacted}
    if event.kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "text", "text": ""}


class MessagesStreamRenderer:
    __slots__ = ("_kinds", "_model", "_usage")

    def __init__(self, request: ChatRequest) -> None:
        self._model = request.model
        self._usage = Usage()
        self._kinds: dict[int, BlockKind] = {}

    def _start(self, event: Start) -> bytes:
        self._usage = event.usage or self._usage
        message: dict[str, Any] = {
            "id": event.id,
            "type": "message",
            "role": "assistant",
            "model": event.model or self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_body(self._usage),
        }
        return _frame("message_start", {"message": message})

    def _finish(self, event: Finish) -> bytes:
        delta = {"stop_reason": STOP_REASON_NAMES[event.stop_reason], "stop_sequence": event.stop_sequence}
        usage = usage_body(event.usage or self._usage)
        return _frame("message_delta", {"delta": delta, "usage": usage}) + _frame("message_stop", {})

    def _signature(self, event: SignatureDelta) -> bytes:
        if self._kinds.get(event.index) != "thinking":
            return b""  # a signature on a tool call (Gemini) has no Anthropic wire form
        return _delta(event.index, {"type": "signature_delta", "signature": event.signature})

    def render(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return _delta(event.index, {"type": "text_delta", "text": event.text}) if event.text else b""
        if isinstance(event, ThinkingDelta):
            return _delta(event.index, {"type": "thinking_delta", "thinking": event.text}) if event.text else b""
        if isinstance(event, ArgumentsDelta):
            return _delta(event.index, {"type": "input_json_delta", "partial_json": event.fragment})
        if isinstance(event, SignatureDelta):
            return self._signature(event)
        if isinstance(event, BlockStart):
            self._kinds[event.index] = event.kind
            return _frame("content_block_start", {"index": event.index, "content_block": _content_block(event)})
        if isinstance(event, BlockStop):
            return _frame("content_block_stop", {"index": event.index})
        if isinstance(event, Start):
            return self._start(event)
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return b""
        if isinstance(event, Finish):
            return self._finish(event)
        return event_frame("error", jsonx.dumps(error_body(event.error)))  # Failure


def stream_renderer(request: ChatRequest) -> MessagesStreamRenderer:
    return MessagesStreamRenderer(request)
