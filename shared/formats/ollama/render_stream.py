"""Ollama chat, client side: canonical stream events -> NDJSON lines.

Thinking and text deltas become partial messages (`done: false`) as they come; a tool call is
held until its block stops and then sent whole, as Ollama sends calls. Finish becomes the final
line (`done: true`, the done reason and the counts). A Failure ends the stream with Ollama's
in-band `{"error": ...}` line and no `done: true`. Signatures have no Ollama form.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, ToolCall
from shared.canonical.events import (
    ArgumentsDelta,
    BlockStart,
    BlockStop,
    Failure,
    Finish,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UsageUpdate,
)
from shared.canonical.usage import Usage
from shared.formats.ollama.inbound import error_body
from shared.formats.ollama.usage import done_reason, usage_fields
from shared.formats.ollama.wire import call_body, dumps_line, format_created

__all__ = ["OllamaStreamRenderer", "stream_renderer"]


class OllamaStreamRenderer:
    __slots__ = ("_arguments", "_call", "_calls", "_created_at", "_model", "_usage")

    def __init__(self, request: ChatRequest) -> None:
        self._model = request.model
        self._created_at = format_created(0)
        self._usage = Usage()
        self._call: BlockStart | None = None  # the tool call being assembled
        self._arguments: list[str] = []
        self._calls = 0

    def _line(self, message: dict[str, Any], **final: Any) -> bytes:
        line: dict[str, Any] = {"model": self._model, "created_at": self._created_at, "message": message}
        if final:
            line.update(final)
        else:
            line["done"] = False
        return dumps_line(line)

    def _tool_call(self) -> bytes:
        start, self._call = self._call, None
        if start is None:
            return b""
        call = ToolCall(id=start.tool_call_id or "", name=start.tool_name or "", arguments="".join(self._arguments))
        self._arguments = []
        body = call_body(call, self._calls)
        self._calls += 1
        return self._line({"role": "assistant", "content": "", "tool_calls": [body]})

    def render(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._line({"role": "assistant", "content": event.text}) if event.text else b""
        if isinstance(event, ThinkingDelta):
            return self._line({"role": "assistant", "content": "", "thinking": event.text}) if event.text else b""
        if isinstance(event, ArgumentsDelta):
            self._arguments.append(event.fragment)
            return b""
        if isinstance(event, BlockStart):
            if event.kind == "tool_call":
                self._call, self._arguments = event, []
            return b""
        if isinstance(event, BlockStop):
            return self._tool_call() if self._call is not None and self._call.index == event.index else b""
        if isinstance(event, Start):
            self._model = event.model or self._model
            self._created_at = format_created(event.created)
            self._usage = event.usage or self._usage
            return b""
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return b""
        if isinstance(event, Finish):
            return self._finish(event)
        if isinstance(event, Failure):
            return dumps_line(error_body(event.error))
        return b""  # signatures have no Ollama wire form

    def _finish(self, event: Finish) -> bytes:
        usage = event.usage or self._usage
        return self._line(
            {"role": "assistant", "content": ""},
            done_reason=done_reason(event.stop_reason),
            done=True,
            **usage_fields(usage),
        )


def stream_renderer(request: ChatRequest) -> OllamaStreamRenderer:
    return OllamaStreamRenderer(request)
