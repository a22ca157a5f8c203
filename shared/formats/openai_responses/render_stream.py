"""OpenAI Responses, client side: canonical stream events -> Responses streaming events (SSE).

The sequence the official SDKs accumulate: `response.created`, `response.in_progress`, then per
output item `response.output_item.added`, its content events (`content_part.added`,
`output_text.delta`..., `output_text.done`, `content_part.done` for a message;
`function_call_arguments.delta`..., `.done` for a call; `reasoning_summary_part.added`,
`reasoning_summary_text.delta`..., `.done`, `reasoning_summary_part.done` for reasoning) and
`response.output_item.done`; finally `response.completed` (or `response.incomplete`) carrying the
whole response. Every event has `type` and a `sequence_number` counting from 0.

A thinking block followed by an opaque one is one reasoning item (its `output_item.done` waits to
see whether encrypted content follows). A Failure renders as the `error` event followed by
`response.failed`: never a completed response.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
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
from shared.formats.openai_responses.output import item_id, message_item, response_object, tool_call_item
from shared.formats.openai_responses.usage import status_for
from shared.sse import event_frame

__all__ = ["ResponsesStreamRenderer", "stream_renderer"]


class _Open:
    """The output item of the open block."""

    __slots__ = ("hold", "index", "kind", "summary", "text")

    def __init__(self, kind: str, index: int, hold: bool = False) -> None:
        self.kind = kind
        self.index = index
        self.hold = hold  # a reasoning item that may still take the encrypted content of the next block
        self.text: list[str] = []
        self.summary: int | None = None  # index of the summary part being streamed


class ResponsesStreamRenderer:
    __slots__ = ("_created", "_ended", "_id", "_items", "_model", "_open", "_pending", "_request", "_seq", "_usage")

    def __init__(self, request: ChatRequest) -> None:
        self._request = request
        self._seq = 0
        self._id = ""
        self._model = request.model
        self._created = 0
        self._usage: Usage | None = None
        self._items: list[dict[str, Any]] = []
        self._open: _Open | None = None
        self._pending: int | None = None  # a finished reasoning item whose output_item.done is held back
        self._ended: bool | None = None  # None: not started

    def _event(self, kind: str, payload: dict[str, Any]) -> bytes:
        body = {"type": kind, "sequence_number": self._seq, **payload}
        self._seq += 1
        return event_frame(kind, jsonx.dumps(body))

    def _response(self, status: str, **extra: Any) -> dict[str, Any]:
        return response_object(
            ident=self._id,
            model=self._model,
            created=self._created,
            request=self._request,
            status=status,
            output=list(self._items),
            usage=extra.pop("usage", None),
            **extra,
        )

    def _begin(self) -> bytes:
        self._ended = False
        snapshot = self._response("in_progress")
        return self._event("response.created", {"response": snapshot}) + self._event(
            "response.in_progress", {"response": snapshot}
        )

    def _item_done(self, index: int) -> bytes:
        return self._event("response.output_item.done", {"output_index": index, "item": self._items[index]})

    def _release(self) -> bytes:
        if self._pending is None:
            return b""
        index, self._pending = self._pending, None
        return self._item_done(index)

    # --- blocks -------------------------------------------------------------------------------

    def _added(self, item: dict[str, Any]) -> bytes:
        self._items.append(item)
        return self._event("response.output_item.added", {"output_index": len(self._items) - 1, "item": item})

    def _block_start(self, event: BlockStart) -> bytes:
        index = len(self._items)
        if event.kind == "text":
            ident = item_id("msg", self._id, index)
            self._open = _Open("message", index)
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            at = {"item_id": ident, "output_index": index, "content_index": 0}
            added = self._added(message_item(ident, "", "in_progress"))
            return added + self._event("response.content_part.added", {**at, "part": part})
        if event.kind == "tool_call":
            self._open = _Open("function_call", index)
            call = ToolCall(id=event.tool_call_id or "", name=event.tool_name or "")
            return self._added(tool_call_item(item_id("fc", self._id, index), call, "in_progress"))
        if event.redacted is not None and self._pending is not None:
            self._items[self._pending]["encrypted_content"] = event.redacted
            self._open, self._pending = _Open("reasoning", self._pending), None
            return b""
        item: dict[str, Any] = {"id": item_id("rs", self._id, index), "type": "reasoning", "summary": []}
        if event.redacted is not None:
            item["encrypted_content"] = event.redacted
        self._open = _Open("reasoning", index, hold=event.redacted is None)
        return self._added(item)

    def _thinking(self, open_: _Open, text: str) -> bytes:
        item = self._items[open_.index]
        out = b""
        if open_.summary is None:
            open_.summary = len(item["summary"])
            part = {"type": "summary_text", "text": ""}
            out = self._event("response.reasoning_summary_part.added", {**self._at(open_), "part": part})
        open_.text.append(text)
        return out + self._event("response.reasoning_summary_text.delta", {**self._at(open_), "delta": text})

    def _at(self, open_: _Open) -> dict[str, Any]:
        return {"item_id": self._items[open_.index]["id"], "output_index": open_.index, "summary_index": open_.summary}

    def _delta(self, event: TextDelta | ThinkingDelta | ArgumentsDelta) -> bytes:
        open_ = self._open
        if open_ is None:
            return b""
        ident = self._items[open_.index]["id"]
        if isinstance(event, TextDelta) and open_.kind == "message":
            open_.text.append(event.text)
            payload = {"item_id": ident, "output_index": open_.index, "content_index": 0, "delta": event.text}
            return self._event("response.output_text.delta", {**payload, "logprobs": []})
        if isinstance(event, ThinkingDelta) and open_.kind == "reasoning":
            return self._thinking(open_, event.text)
        if isinstance(event, ArgumentsDelta) and open_.kind == "function_call":
            open_.text.append(event.fragment)
            payload = {"item_id": ident, "output_index": open_.index, "delta": event.fragment}
            return self._event("response.function_call_arguments.delta", payload)
        return b""

    def _stop_message(self, open_: _Open, text: str) -> bytes:
        at = {"item_id": self._items[open_.index]["id"], "output_index": open_.index, "content_index": 0}
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
        self._items[open_.index] = message_item(self._items[open_.index]["id"], text)
        return (
            self._event("response.output_text.done", {**at, "text": text, "logprobs": []})
            + self._event("response.content_part.done", {**at, "part": part})
            + self._item_done(open_.index)
        )

    def _stop_reasoning(self, open_: _Open, text: str) -> bytes:
        item = self._items[open_.index]
        out = b""
        if open_.summary is not None:
            part = {"type": "summary_text", "text": text}
            item["summary"].append(part)
            out = self._event("response.reasoning_summary_text.done", {**self._at(open_), "text": text})
            out += self._event("response.reasoning_summary_part.done", {**self._at(open_), "part": part})
        if open_.hold and "encrypted_content" not in item:
            self._pending = open_.index
            return out
        return out + self._item_done(open_.index)

    def _block_stop(self) -> bytes:
        open_, self._open = self._open, None
        if open_ is None:
            return b""
        text = "".join(open_.text)
        if open_.kind == "message":
            return self._stop_message(open_, text)
        if open_.kind == "reasoning":
            return self._stop_reasoning(open_, text)
        item = self._items[open_.index]
        call = ToolCall(id=item["call_id"], name=item["name"], arguments=text)
        self._items[open_.index] = tool_call_item(item["id"], call)
        payload = {"item_id": item["id"], "output_index": open_.index, "arguments": text}
        return self._event("response.function_call_arguments.done", payload) + self._item_done(open_.index)

    # --- lifecycle ----------------------------------------------------------------------------

    def _finish(self, event: Finish) -> bytes:
        out = self._block_stop() + self._release()
        status, incomplete = status_for(event.stop_reason)
        usage = event.usage or self._usage
        kind = "response.completed" if status == "completed" else "response.incomplete"
        self._ended = True
        return out + self._event(kind, {"response": self._response(status, usage=usage, incomplete=incomplete)})

    def _fail(self, event: Failure) -> bytes:
        out = self._begin() if self._ended is None else b""
        error = event.error
        code = "rate_limit_exceeded" if error.status == 429 else "server_error"
        self._ended = True
        failed = self._response("failed", usage=self._usage, error={"code": code, "message": error.message})
        return (
            out
            + self._event("error", {"code": error.code, "message": error.message, "param": error.param})
            + self._event("response.failed", {"response": failed})
        )

    def render(self, event: StreamEvent) -> bytes:
        if self._ended:
            return b""
        if isinstance(event, Failure):
            return self._fail(event)
        if isinstance(event, Start):
            self._id, self._model, self._created = event.id, event.model or self._model, event.created
            self._usage = event.usage or self._usage
            return self._begin() if self._ended is None else b""
        out = self._begin() if self._ended is None else b""
        if isinstance(event, TextDelta | ThinkingDelta | ArgumentsDelta):
            return out + self._delta(event)
        if isinstance(event, BlockStart):
            keep = event.kind == "thinking" and event.redacted is not None
            return out + (b"" if keep else self._release()) + self._block_start(event)
        if isinstance(event, BlockStop):
            return out + self._block_stop()
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
        elif isinstance(event, Finish):
            return out + self._finish(event)
        return out  # signatures have no Responses wire form


def stream_renderer(request: ChatRequest) -> ResponsesStreamRenderer:
    return ResponsesStreamRenderer(request)
