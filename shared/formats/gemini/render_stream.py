"""Gemini, client side: canonical stream events -> `streamGenerateContent?alt=sse` frames.

Each text or thinking delta is a `data:` frame holding a `GenerateContentResponse` with one part;
a tool call is sent whole when its block stops (Gemini never splits a `functionCall`), with its
`thoughtSignature`; a thinking block's signature follows its text as an empty part carrying it (a
thought part when the block had text, a text part otherwise: see parts.py). Finish sends the frame
with `finishReason` and `usageMetadata`; then the stream just ends (Gemini sends no `[DONE]`).
A Failure is the `{"error": {...}}` frame, never a finish.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.events import (
    ArgumentsDelta,
    BlockStart,
    BlockStop,
    Failure,
    Finish,
    SignatureDelta,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UsageUpdate,
)
from shared.canonical.usage import Usage
from shared.formats.common import arguments_object
from shared.formats.gemini.usage import FINISH_REASONS, usage_body
from shared.formats.gemini.wire import error_body, signature_out
from shared.sse import data_frame

__all__ = ["GeminiStreamRenderer", "stream_renderer"]


class _Block:
    __slots__ = ("fragments", "has_text", "id", "kind", "name", "signature", "skip")

    def __init__(self, event: BlockStart) -> None:
        self.kind = event.kind
        self.id = event.tool_call_id
        self.name = event.tool_name
        self.skip = event.redacted is not None  # another provider's opaque thinking: no Gemini form
        self.fragments: list[str] = []
        self.has_text = False
        self.signature = ""


class GeminiStreamRenderer:
    __slots__ = ("_block", "_id", "_model", "_usage")

    def __init__(self, request: ChatRequest) -> None:
        self._id = ""
        self._model = request.model
        self._usage = Usage()
        self._block: _Block | None = None

    def _frame(self, parts: list[dict[str, Any]], finish: str | None = None, usage: Usage | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if finish is not None:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        body: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None and usage.reported:
            body["usageMetadata"] = usage_body(usage)
        body["modelVersion"] = self._model
        body["responseId"] = self._id
        return data_frame(jsonx.dumps(body))

    def render(self, event: StreamEvent) -> bytes:
        block = self._block
        if isinstance(event, TextDelta):
            return self._frame([{"text": event.text}]) if event.text else b""
        if isinstance(event, ThinkingDelta):
            if not event.text or block is None or block.skip:
                return b""
            block.has_text = True
            return self._frame([{"text": event.text, "thought": True}])
        if isinstance(event, ArgumentsDelta):
            if block is not None:
                block.fragments.append(event.fragment)
            return b""
        if isinstance(event, SignatureDelta):
            if block is not None:
                block.signature += event.signature
            return b""
        return self._other(event)

    def _other(self, event: StreamEvent) -> bytes:
        if isinstance(event, BlockStart):
            self._block = _Block(event)
            return b""
        if isinstance(event, BlockStop):
            block, self._block = self._block, None
            return self._block_stop(block) if block is not None else b""
        if isinstance(event, Start):
            self._id, self._model = event.id, event.model or self._model
            self._usage = event.usage or self._usage
            return b""
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return b""
        if isinstance(event, Finish):
            return self._frame([{"text": ""}], FINISH_REASONS[event.stop_reason], event.usage or self._usage)
        if isinstance(event, Failure):
            return data_frame(jsonx.dumps(error_body(event.error)))
        return b""

    def _block_stop(self, block: _Block) -> bytes:
        if block.kind == "tool_call":
            call: dict[str, Any] = {"id": block.id} if block.id else {}
            call["name"] = block.name or ""
            call["args"] = arguments_object("".join(block.fragments) or "{}")
            part: dict[str, Any] = {"functionCall": call}
            if block.signature:
                part["thoughtSignature"] = signature_out(block.signature)
            return self._frame([part])
        if block.kind == "thinking" and block.signature and not block.skip:
            part = {"text": "", "thought": True} if block.has_text else {"text": ""}
            part["thoughtSignature"] = signature_out(block.signature)
            return self._frame([part])
        return b""


def stream_renderer(request: ChatRequest) -> GeminiStreamRenderer:
    return GeminiStreamRenderer(request)
