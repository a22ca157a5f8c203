"""Ollama chat, provider side: NDJSON lines -> canonical stream events.

Each line is a partial `{model, created_at, message, done: false}`; `message.thinking` and
`message.content` are deltas (thinking comes first) and `message.tool_calls` holds whole calls,
so a thinking or text block stays open across lines while each call is a block of its own. The
last line has `done: true`, the done reason and the counts (and may still carry a delta). A line
`{"error": "..."}` is an in-band error; a stream that closes before its `done: true` line was
cut short.
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
)
from shared.formats.ollama.usage import parse_usage, stop_reason
from shared.formats.ollama.wire import parse_created, result_call
from shared.formats.upstream_errors import clean_message
from shared.sse import SSEEvent

__all__ = ["OllamaStreamParser", "stream_parser"]


def _failure(message: str, code: str) -> list[StreamEvent]:
    return [Failure(UpstreamError(message, code=code))]


class OllamaStreamParser:
    __slots__ = ("_calls", "_model", "_next", "_open", "done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False
        self._model = ""
        self._next = 0  # index of the next block
        self._open: tuple[int, BlockKind] | None = None
        self._calls = 0  # tool calls seen so far

    def _close(self) -> list[StreamEvent]:
        if self._open is None:
            return []
        index = self._open[0]
        self._open = None
        return [BlockStop(index)]

    def _start_block(self, kind: BlockKind, **fields: Any) -> tuple[int, list[StreamEvent]]:
        events = self._close()
        index = self._next
        self._next += 1
        events.append(BlockStart(index, kind, **fields))
        return index, events

    def _delta(self, kind: BlockKind, text: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self._open is None or self._open[1] != kind:
            index, events = self._start_block(kind)
            self._open = (index, kind)
        index = self._open[0]
        events.append(TextDelta(index, text) if kind == "text" else ThinkingDelta(index, text))
        return events

    def _call(self, raw: Any) -> list[StreamEvent]:
        call = result_call(raw, self._model, self._calls)
        self._calls += 1
        index, events = self._start_block("tool_call", tool_call_id=call.id, tool_name=call.name)
        return [*events, ArgumentsDelta(index, call.arguments), BlockStop(index)]

    def _message(self, message: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        thinking = message.get("thinking")
        if isinstance(thinking, str) and thinking:
            events += self._delta("thinking", thinking)
        content = message.get("content")
        if isinstance(content, str) and content:
            events += self._delta("text", content)
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            events += self._call(call)
        return events

    def _line(self, line: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if not self.started:
            self.started = True
            self._model = str(line.get("model") or "")
            events.append(Start("", self._model, parse_created(line.get("created_at"))))
        if isinstance(line.get("message"), dict):
            events += self._message(line["message"])
        if line.get("done") is True:
            self.done = True
            reason = stop_reason(line.get("done_reason"), self._calls > 0)
            events += [*self._close(), Finish(reason, usage=parse_usage(line))]
        return events

    def parse(self, frame: SSEEvent) -> list[StreamEvent]:
        if self.done:
            return []
        try:
            line = jsonx.loads(frame.data)
        except jsonx.JSONDecodeError:
            self.done = True
            return _failure("The upstream sent a malformed stream line.", "upstream_stream_error")
        if not isinstance(line, dict):
            return []
        if "error" in line:
            self.done = True
            error = line["error"]
            text = clean_message(error.get("message") if isinstance(error, dict) else error)
            return _failure(text or "The upstream provider reported an error mid-stream.", "upstream_stream_error")
        return self._line(line)

    def end(self) -> list[StreamEvent]:
        if self.done:
            return []
        self.done = True
        return _failure("The upstream stream ended before completion.", "stream_interrupted")


def stream_parser(request: ChatRequest) -> OllamaStreamParser:
    return OllamaStreamParser()
