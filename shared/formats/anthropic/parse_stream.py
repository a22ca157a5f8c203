"""Anthropic Messages, provider side: the named SSE events of a streamed message -> canonical events.

    message_start (content_block_start content_block_delta* content_block_stop)* message_delta+ message_stop

with `ping` anywhere and `error` ending the stream. Anthropic streams blocks one after another,
so its blocks map onto canonical blocks directly; blocks the canonical model has no kind for
(server tool use and results) are skipped and later blocks renumbered. A tool_use whose start
already holds its whole `input` and gets no input_json_delta (some compatible upstreams) keeps
that input. Usage counts in `message_delta` are cumulative and replace those of `message_start`.
A stream that closes before `message_stop` ends with a Failure ("stream_interrupted"), never
with a made-up finish.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import UpstreamError
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
from shared.canonical.result import StopReason
from shared.formats.anthropic.usage import STOP_REASONS, merge_usage, parse_usage
from shared.formats.upstream_errors import clean_message
from shared.sse import SSEEvent

__all__ = ["MessagesStreamParser", "stream_parser"]


def _failure(message: str, code: str = "upstream_stream_error") -> list[StreamEvent]:
    return [Failure(UpstreamError(message, code=code))]


class MessagesStreamParser:
    __slots__ = ("_blocks", "_input", "_next", "_open", "_stop", "_stop_sequence", "_usage", "done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False
        self._blocks: dict[int, int | None] = {}  # Anthropic index -> canonical index (None: skipped)
        self._next = 0  # the canonical index of the next block
        self._open: int | None = None  # the Anthropic index of the open block
        self._input: str | None = None  # a tool_use start's non-empty `input`, used if no delta follows
        self._usage: dict[str, Any] | None = None
        self._stop: StopReason = "end"
        self._stop_sequence: str | None = None

    def _start(self, message: Any) -> list[StreamEvent]:
        message = message if isinstance(message, dict) else {}
        self.started = True
        usage = message.get("usage")
        self._usage = dict(usage) if isinstance(usage, dict) else None
        return [
            Start(
                str(message.get("id") or ""),
                str(message.get("model") or ""),
                usage=parse_usage(self._usage) if self._usage is not None else None,
            )
        ]

    def _block_start(self, event: dict[str, Any]) -> list[StreamEvent]:
        index, block = event.get("index"), event.get("content_block")
        if self._open is not None or not isinstance(index, int) or index in self._blocks:
            return _failure("The upstream interleaved or repeated content blocks.")
        block = block if isinstance(block, dict) else {}
        self._open = index
        kind = block.get("type")
        if kind not in ("text", "thinking", "redacted_thinking", "tool_use"):
            self._blocks[index] = None  # server tools and their results: not canonical content
            return []
        mine = self._blocks[index] = self._next
        self._next += 1
        if kind == "tool_use":
            initial = block.get("input")
            self._input = jsonx.dumps_str(initial) if isinstance(initial, dict) and initial else None
            return [
                BlockStart(
                    mine, "tool_call", tool_call_id=str(block.get("id") or ""), tool_name=str(block.get("name") or "")
                )
            ]
        if kind == "redacted_thinking":
            return [BlockStart(mine, "thinking", redacted=str(block.get("data") or ""))]
        events: list[StreamEvent] = [BlockStart(mine, "thinking" if kind == "thinking" else "text")]
        initial = block.get("thinking" if kind == "thinking" else "text")
        if isinstance(initial, str) and initial:
            events.append(ThinkingDelta(mine, initial) if kind == "thinking" else TextDelta(mine, initial))
        if kind == "thinking" and isinstance(block.get("signature"), str) and block["signature"]:
            events.append(SignatureDelta(mine, block["signature"]))
        return events

    def _block_delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        index, delta = event.get("index"), event.get("delta")
        if index is None or index != self._open or not isinstance(delta, dict):
            return _failure("The upstream sent a delta for a content block that is not open.")
        mine = self._blocks[index]
        if mine is None:
            return []
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [TextDelta(mine, str(delta["text"]))]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [ThinkingDelta(mine, str(delta["thinking"]))]
        if kind == "signature_delta" and delta.get("signature"):
            return [SignatureDelta(mine, str(delta["signature"]))]
        if kind == "input_json_delta" and delta.get("partial_json"):
            self._input = None
            return [ArgumentsDelta(mine, str(delta["partial_json"]))]
        return []  # empty fragments, citations

    def _block_stop(self, event: dict[str, Any]) -> list[StreamEvent]:
        index = event.get("index")
        if index is None or index != self._open:
            return _failure("The upstream closed a content block that is not open.")
        self._open = None
        mine = self._blocks[index]
        if mine is None:
            return []
        initial, self._input = self._input, None
        return [ArgumentsDelta(mine, initial), BlockStop(mine)] if initial else [BlockStop(mine)]

    def _message_delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        delta = event.get("delta")
        if isinstance(delta, dict):
            reason = delta.get("stop_reason")
            if isinstance(reason, str):
                self._stop = STOP_REASONS.get(reason, "end")
            sequence = delta.get("stop_sequence")
            self._stop_sequence = sequence if isinstance(sequence, str) else None
        if not isinstance(event.get("usage"), dict):
            return []
        self._usage = merge_usage(self._usage or {}, event["usage"])
        return [UsageUpdate(parse_usage(self._usage))]

    def _message_stop(self) -> list[StreamEvent]:
        self.done = True
        if self._open is not None:
            return _failure("The upstream ended the message with a content block still open.")
        usage = parse_usage(self._usage) if self._usage is not None else None
        return [Finish(self._stop, self._stop_sequence, usage)]

    def _event(self, kind: Any, event: dict[str, Any]) -> list[StreamEvent]:
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "content_block_stop":
            return self._block_stop(event)
        if kind == "message_delta":
            return self._message_delta(event)
        if kind == "message_stop":
            return self._message_stop()
        return []  # ping, and event types a later API version adds

    def parse(self, frame: SSEEvent) -> list[StreamEvent]:
        if self.done:
            return []
        try:
            event = jsonx.loads(frame.data)
        except jsonx.JSONDecodeError:
            self.done = True
            return _failure("The upstream sent a malformed stream event.")
        event = event if isinstance(event, dict) else {}
        kind = event.get("type") or frame.event
        if kind == "error" or frame.event == "error":
            self.done = True
            error = event.get("error")
            message = clean_message(error.get("message") if isinstance(error, dict) else None)
            return _failure(message or "The upstream provider reported an error mid-stream.")
        if kind == "message_start":
            return [] if self.started else self._start(event.get("message"))
        if not self.started and kind != "ping":
            self.done = True
            return _failure("The upstream stream did not begin with message_start.")
        events = self._event(kind, event)
        if any(isinstance(e, Failure) for e in events):
            self.done = True
        return events

    def end(self) -> list[StreamEvent]:
        if self.done:
            return []
        self.done = True
        return _failure("The upstream stream ended before completion.", "stream_interrupted")


def stream_parser(request: ChatRequest) -> MessagesStreamParser:
    return MessagesStreamParser()
