"""OpenAI Responses, provider side: streaming events -> canonical stream events.

Each output item becomes its blocks in output order: a message one text block, a function call
one tool-call block (opened when the item is added, so the name streams early), a reasoning item
a thinking block for its summary (parts joined by a blank line) and then, at
`response.output_item.done`, an opaque thinking block for its `encrypted_content` (the value
streamed with `output_item.added` is re-encrypted by the time the item is done, so only the
finished item's value is kept). Items are sequential in OpenAI's streams; should an upstream
interleave them, a later item's events wait until the earlier item is done.

An item whose deltas never came (some compatible servers send only the finished item) takes its
content from `response.output_item.done`. The stream ends with `response.completed` or
`response.incomplete` (the final response: status, usage); `error` and `response.failed` are
Failures, and a stream that stops before its terminal event is interrupted.
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
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
)
from shared.formats.openai_responses.output import SUMMARY_SEPARATOR, message_text, parse_output, reasoning_text
from shared.formats.openai_responses.usage import parse_usage, stop_reason
from shared.formats.upstream_errors import clean_message
from shared.sse import SSEEvent

__all__ = ["ResponsesStreamParser", "stream_parser"]

_KINDS = ("message", "function_call", "reasoning")
_TERMINAL = ("response.completed", "response.incomplete")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _failure(message: str, code: str = "upstream_stream_error") -> Failure:
    return Failure(UpstreamError(message, code=code))


class _Blocks:
    """Hands out block indexes in order."""

    __slots__ = ("next",)

    def __init__(self) -> None:
        self.next = 0

    def take(self) -> int:
        self.next += 1
        return self.next - 1


class _Item:
    """One output item: its pending deltas, its open block, and the finished item once done."""

    __slots__ = ("added", "block", "emitted", "final", "finished", "kind", "ops", "part")

    def __init__(self, kind: str, added: dict[str, Any]) -> None:
        self.kind = kind
        self.added = added
        self.final: dict[str, Any] | None = None
        self.finished = False
        self.ops: list[tuple[Any, str]] = []
        self.block: int | None = None
        self.emitted = False
        self.part: Any = None  # the summary / content part the last reasoning delta belonged to

    def drain(self, blocks: _Blocks) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self.kind == "function_call" and self.block is None:
            self.block = blocks.take()
            call_id = self.added.get("call_id") or self.added.get("id") or ""
            events.append(BlockStart(self.block, "tool_call", tool_call_id=str(call_id), tool_name=self._name()))
        for part, text in self.ops:
            events += self._emit(part, text, blocks)
        self.ops.clear()
        return events + (self._close(blocks) if self.finished else [])

    def _name(self) -> str:
        return str(self.added.get("name") or (self.final or {}).get("name") or "")

    def _emit(self, part: Any, text: str, blocks: _Blocks) -> list[StreamEvent]:
        if not text:
            return []
        events: list[StreamEvent] = []
        if self.block is None:
            self.block = blocks.take()
            events.append(BlockStart(self.block, "text" if self.kind == "message" else "thinking"))
        elif self.kind == "reasoning" and part != self.part:
            events.append(ThinkingDelta(self.block, SUMMARY_SEPARATOR))
        self.part, self.emitted = part, True
        if self.kind == "message":
            events.append(TextDelta(self.block, text))
        elif self.kind == "reasoning":
            events.append(ThinkingDelta(self.block, text))
        else:
            events.append(ArgumentsDelta(self.block, text))
        return events

    def _final_text(self) -> str:
        item = self.final or self.added
        if self.kind == "message":
            return message_text(item)[0]
        if self.kind == "reasoning":
            return reasoning_text(item)
        arguments = item.get("arguments")
        return arguments if isinstance(arguments, str) else ""

    def _close(self, blocks: _Blocks) -> list[StreamEvent]:
        events = [] if self.emitted else self._emit("final", self._final_text(), blocks)
        if self.block is not None:
            events.append(BlockStop(self.block))
        encrypted = (self.final or self.added).get("encrypted_content") if self.kind == "reasoning" else None
        if isinstance(encrypted, str) and encrypted:
            index = blocks.take()
            events += [BlockStart(index, "thinking", redacted=encrypted), BlockStop(index)]
        return events


class ResponsesStreamParser:
    __slots__ = ("_blocks", "_by_id", "_by_index", "_calls", "_pending", "_refused", "done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False
        self._blocks = _Blocks()
        self._pending: list[_Item] = []  # items not yet flushed, in the order they were added
        self._by_index: dict[int, _Item] = {}
        self._by_id: dict[str, _Item] = {}
        self._calls = False
        self._refused = False

    # --- items --------------------------------------------------------------------------------

    def _find(self, data: dict[str, Any]) -> _Item | None:
        index, ident = data.get("output_index"), data.get("item_id")
        if isinstance(index, int) and index in self._by_index:
            return self._by_index[index]
        return self._by_id.get(ident) if isinstance(ident, str) else None

    def _add(self, item: dict[str, Any], index: Any) -> _Item | None:
        kind = item.get("type")
        if kind not in _KINDS:
            return None  # built-in tool calls: nothing the canonical stream carries
        entry = _Item(str(kind), item)
        self._pending.append(entry)
        self._by_index[index if isinstance(index, int) else -len(self._pending)] = entry
        if isinstance(item.get("id"), str):
            self._by_id[item["id"]] = entry
        self._calls = self._calls or kind == "function_call"
        return entry

    def _item_for(self, data: dict[str, Any], kind: str) -> _Item | None:
        found = self._find(data)
        if found is None and kind != "function_call":  # deltas without an added item (lenient servers)
            found = self._add({"type": kind, "id": data.get("item_id")}, data.get("output_index"))
        return found if found is not None and found.kind == kind else None

    def _queue(self, data: dict[str, Any], kind: str, part: Any) -> None:
        item = self._item_for(data, kind)
        delta = data.get("delta")
        if item is not None and isinstance(delta, str):
            item.ops.append((part, delta))

    def _pump(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        while self._pending:
            head = self._pending[0]
            events += head.drain(self._blocks)
            if not head.finished:
                break
            self._pending.pop(0)
        return events

    # --- events -------------------------------------------------------------------------------

    def _on_added(self, data: dict[str, Any]) -> None:
        if isinstance(data.get("item"), dict) and self._find(data) is None:
            self._add(data["item"], data.get("output_index"))

    def _on_done(self, data: dict[str, Any]) -> None:
        item = data.get("item")
        if not isinstance(item, dict):
            return
        entry = self._find({**data, "item_id": item.get("id")}) or self._add(item, data.get("output_index"))
        if entry is not None:
            entry.final, entry.finished = item, True

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "response.output_item.added":
            self._on_added(data)
        elif kind == "response.output_item.done":
            self._on_done(data)
        elif kind == "response.output_text.delta":
            self._queue(data, "message", "text")
        elif kind == "response.refusal.delta":
            self._refused = True
            self._queue(data, "message", "text")
        elif kind == "response.function_call_arguments.delta":
            self._queue(data, "function_call", "arguments")
        elif kind == "response.reasoning_summary_text.delta":
            self._queue(data, "reasoning", ("summary", data.get("summary_index")))
        elif kind == "response.reasoning_text.delta":
            self._queue(data, "reasoning", ("content", data.get("content_index")))

    def _finish(self, kind: str, data: dict[str, Any]) -> list[StreamEvent]:
        self.done = True
        response = _object(data.get("response"))
        output: list[Any] = response["output"] if isinstance(response.get("output"), list) else []
        finals = {item.get("id"): item for item in output if isinstance(item, dict)}
        for item in self._pending:
            if not item.finished:
                item.final, item.finished = finals.get(item.added.get("id")), True
        events = self._pump()
        calls, refused = self._calls, self._refused
        if output:
            _, calls, refused = parse_output(output)
        status = response.get("status") or ("incomplete" if kind == "response.incomplete" else "completed")
        stop = stop_reason({**response, "status": status}, calls, refused)
        return [*events, Finish(stop, usage=parse_usage(response.get("usage")))]

    def _start(self, data: dict[str, Any]) -> list[StreamEvent]:
        self.started = True
        response = _object(data.get("response"))
        created = response.get("created_at")
        created = int(created) if isinstance(created, int | float) and not isinstance(created, bool) else 0
        return [Start(str(response.get("id") or ""), str(response.get("model") or ""), created)]

    def parse(self, frame: SSEEvent) -> list[StreamEvent]:
        if self.done:
            return []
        if frame.data.strip() == b"[DONE]":
            return self.end()  # OpenAI sends none; a compatible server's [DONE] before the terminal event
        try:
            data = jsonx.loads(frame.data)
        except jsonx.JSONDecodeError:
            self.done = True
            return [_failure("The upstream sent a malformed stream event.")]
        if not isinstance(data, dict):
            return []
        kind = str(data.get("type") if isinstance(data.get("type"), str) else frame.event or "")
        if kind in ("error", "response.failed"):
            self.done = True
            return [_upstream_failure(kind, data)]
        events = [] if self.started else self._start(data)
        if kind in _TERMINAL:
            return events + self._finish(kind, data)
        self._on_event(kind, data)
        return events + self._pump()

    def end(self) -> list[StreamEvent]:
        if self.done:
            return []
        self.done = True
        return [_failure("The upstream stream ended before completion.", "stream_interrupted")]


def _upstream_failure(kind: str, data: dict[str, Any]) -> Failure:
    if kind == "response.failed":
        response = data.get("response")
        error = response.get("error") if isinstance(response, dict) else None
        default = "The upstream provider failed to generate a response."
    else:
        error = data.get("error") if isinstance(data.get("error"), dict) else data
        default = "The upstream provider reported an error mid-stream."
    message = clean_message(error.get("message")) if isinstance(error, dict) else None
    return _failure(message or default)


def stream_parser(request: ChatRequest) -> ResponsesStreamParser:
    return ResponsesStreamParser()
