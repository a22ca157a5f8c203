"""Gemini `parts` -> canonical stream events: one reader for streams, JSON answers and history turns.

Sharing the reader is what makes `fold(parse_stream(sse)) == parse_result(json)` hold: a streamed
answer is the same parts cut into chunks, and consecutive parts of one kind are one block.

- `{"text", "thought": true}` parts are thinking; consecutive ones form one thinking block (a
  stream sends thought text in pieces). A `thoughtSignature` on a thought part is that block's
  signature and closes it, so the next thought starts a new block.
- `{"text"}` parts are text; consecutive ones form one text block.
- A `thoughtSignature` on a text part (Gemini puts it on the last part of an answer without
  function calls, in a stream often on a final part with empty text) becomes a thinking block of
  its own, with no text and that signature, right after the text it was attached to. Writers put it
  back on the preceding text part, so the signature returns exactly where it came from.
- `{"functionCall"}` parts are tool calls, complete in one part; their `thoughtSignature` (only the
  first of parallel calls has one) stays with that call. A call without an `id` gets one derived from
  `key` (the answer's `responseId`, or the turn's position in a history) and its position.
- Other parts (media, executable code) carry nothing canonical; only a signature on them is kept.
- A signature the gateway wrapped to make it base64 (`wire.signature_out`) is unwrapped here.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.events import (
    ArgumentsDelta,
    BlockKind,
    BlockStart,
    BlockStop,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
)
from shared.formats.common import arguments_text
from shared.formats.gemini.wire import camel, signature_in, tool_call_id

__all__ = ["PartReader"]


class PartReader:
    __slots__ = ("_key", "_next", "_open", "calls")

    def __init__(self, key: str) -> None:
        self._key = key
        self._next = 0  # index of the next block
        self._open: tuple[int, BlockKind] | None = None
        self.calls = 0  # function calls read so far

    def close(self) -> list[StreamEvent]:
        if self._open is None:
            return []
        index = self._open[0]
        self._open = None
        return [BlockStop(index)]

    def _start(self, kind: BlockKind, **fields: Any) -> list[StreamEvent]:
        events = self.close()
        self._open = (self._next, kind)
        events.append(BlockStart(self._next, kind, **fields))
        self._next += 1
        return events

    def part(self, raw: dict[str, Any]) -> list[StreamEvent]:
        part = camel(raw)
        signature = part.get("thoughtSignature")
        signature = signature_in(signature) if isinstance(signature, str) and signature else None
        call = part.get("functionCall")
        if isinstance(call, dict):
            return self._call(camel(call), signature)
        text = part.get("text")
        text = text if isinstance(text, str) else None
        if part.get("thought") is True:
            return self._thought(text or "", signature)
        if text is not None:
            return self._text(text, signature)
        return self._signature(signature) if signature else []

    def _thought(self, text: str, signature: str | None) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self._open is None or self._open[1] != "thinking":
            if not text and not signature:
                return []
            events = self._start("thinking")
        index = self._next - 1
        if text:
            events.append(ThinkingDelta(index, text))
        if signature:
            events.append(SignatureDelta(index, signature))
            events += self.close()
        return events

    def _text(self, text: str, signature: str | None) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if text:
            if self._open is None or self._open[1] != "text":
                events = self._start("text")
            events.append(TextDelta(self._next - 1, text))
        if signature:
            events += self._signature(signature)
        return events

    def _signature(self, signature: str) -> list[StreamEvent]:
        events = self._start("thinking")
        events.append(SignatureDelta(self._next - 1, signature))
        return events + self.close()

    def _call(self, call: dict[str, Any], signature: str | None) -> list[StreamEvent]:
        name = call.get("name") if isinstance(call.get("name"), str) else ""
        arguments = arguments_text(call.get("args"))
        ident = call.get("id")
        if not isinstance(ident, str) or not ident:
            ident = tool_call_id(self._key, self.calls, str(name), arguments)
        self.calls += 1
        events = self._start("tool_call", tool_call_id=ident, tool_name=name)
        index = self._next - 1
        events.append(ArgumentsDelta(index, arguments))
        if signature:
            events.append(SignatureDelta(index, signature))
        return events + self.close()
