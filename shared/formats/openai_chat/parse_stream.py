"""OpenAI Chat, provider side: `chat.completion.chunk` frames -> canonical stream events.

Deltas become sequential blocks: reasoning_content -> thinking, content -> text, each tool call
-> a tool_call block. OpenAI-compatible upstreams stream parallel tool calls one after another;
an upstream that interleaves argument fragments of an earlier call after a later one started is
reported as a Failure rather than relayed with corrupted arguments.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import UpstreamError
from shared.canonical.events import (
    ArgumentsDelta,
    BlockKind,
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
from shared.formats.openai_chat.outbound import upstream_message
from shared.formats.openai_chat.usage import STOP_REASONS, parse_usage
from shared.sse import SSEEvent

__all__ = ["ChatStreamParser", "stream_parser"]


def _failure(message: str, code: str) -> Failure:
    return Failure(UpstreamError(message, code=code))


class ChatStreamParser:
    __slots__ = ("_finish_reason", "_next", "_open", "_tools", "_usage", "done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False
        self._next = 0  # index of the next block
        self._open: tuple[int, BlockKind, int | None] | None = None  # (block, kind, OpenAI tool index)
        self._tools: dict[int, int] = {}  # OpenAI tool index -> block index
        self._finish_reason: str | None = None
        self._usage: Usage | None = None

    def _close(self) -> list[StreamEvent]:
        if self._open is None:
            return []
        index = self._open[0]
        self._open = None
        return [BlockStop(index)]

    def _open_block(self, kind: BlockKind, tool: int | None = None, **fields: Any) -> list[StreamEvent]:
        events = self._close()
        index = self._next
        self._next += 1
        self._open = (index, kind, tool)
        events.append(BlockStart(index, kind, **fields))
        return events

    def _text(self, kind: BlockKind, text: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self._open is None or self._open[1] != kind:
            events = self._open_block(kind)
        index = self._open[0]  # type: ignore[index]
        events.append(TextDelta(index, text) if kind == "text" else ThinkingDelta(index, text))
        return events

    def _tool(self, call: dict[str, Any]) -> list[StreamEvent]:
        position = call.get("index", 0)
        function = call.get("function") or {}
        fragment = function.get("arguments") or ""
        events: list[StreamEvent] = []
        if position not in self._tools:
            events = self._open_block(
                "tool_call", position, tool_call_id=call.get("id") or f"call_{position}", tool_name=function.get("name")
            )
            self._tools[position] = self._next - 1
        elif self._open is None or self._open[2] != position:
            return [_failure("The upstream interleaved parallel tool-call arguments.", "upstream_stream_error")]
        if fragment:
            events.append(ArgumentsDelta(self._tools[position], fragment))
        return events

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        reasoning = delta.get("reasoning_content", delta.get("reasoning"))
        if isinstance(reasoning, str) and reasoning:
            events += self._text("thinking", reasoning)
        content = delta.get("content")
        if isinstance(content, str) and content:
            events += self._text("text", content)
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                events += self._tool(call)
        return events

    def _finish(self) -> list[StreamEvent]:
        self.done = True
        reason = STOP_REASONS.get(self._finish_reason or "stop", "end")
        start: list[StreamEvent] = [] if self.started else [Start("", "")]
        return [*start, *self._close(), Finish(reason, usage=self._usage)]

    def parse(self, frame: SSEEvent) -> list[StreamEvent]:
        if self.done:
            return []
        if frame.data == b"[DONE]":
            return self._finish()
        try:
            chunk = jsonx.loads(frame.data)
        except jsonx.JSONDecodeError:
            self.done = True
            return [_failure("The upstream sent a malformed stream event.", "upstream_stream_error")]
        if frame.event == "error" or (isinstance(chunk, dict) and "error" in chunk and "choices" not in chunk):
            self.done = True
            message = upstream_message(frame.data) or "The upstream provider reported an error mid-stream."
            return [_failure(message, "upstream_stream_error")]
        if not isinstance(chunk, dict):
            return []
        events = self._chunk(chunk)
        if any(isinstance(e, Failure) for e in events):
            self.done = True
        return events

    def _chunk(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if not self.started:
            self.started = True
            created = chunk.get("created")
            events.append(
                Start(
                    str(chunk.get("id") or ""),
                    str(chunk.get("model") or ""),
                    created if isinstance(created, int) else 0,
                )
            )
        if isinstance(chunk.get("usage"), dict):
            self._usage = parse_usage(chunk["usage"])
            events.append(UsageUpdate(self._usage))
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if isinstance(choice.get("delta"), dict):
                events += self._delta(choice["delta"])
            if choice.get("finish_reason"):
                self._finish_reason = str(choice["finish_reason"])
        return events

    def end(self) -> list[StreamEvent]:
        if self.done:
            return []
        if self._finish_reason is not None:
            return self._finish()  # some compatible upstreams end without [DONE]
        self.done = True
        return [_failure("The upstream stream ended before completion.", "stream_interrupted")]


def stream_parser(request: ChatRequest) -> ChatStreamParser:
    return ChatStreamParser()
