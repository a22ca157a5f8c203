"""Canonical stream events, and folding a stream into a result.

The grammar every provider-side parser emits and every client-side renderer accepts:

    Start  (BlockStart (TextDelta | ThinkingDelta | SignatureDelta | ArgumentsDelta)* BlockStop)*  Finish
    with UsageUpdate allowed anywhere after Start, and Failure allowed anywhere (it ends the stream).

- Blocks are sequential: block `index` n+1 starts only after block n stopped; indexes count from 0.
  A parser whose upstream interleaves (parallel tool-call deltas) buffers the later block until the
  earlier one stops; it never emits two open blocks.
- A tool-call block's arguments are the concatenation of its ArgumentsDelta fragments: fragments
  are never reordered or split across blocks, so the assembled JSON is exactly the model's.
- `SignatureDelta` may arrive for a thinking block (Anthropic signature_delta, Gemini thought
  signature) or for a tool-call block (Gemini thoughtSignature on a functionCall part).
- Usage is cumulative: the latest UsageUpdate (or Finish.usage) replaces earlier ones.

The golden rule, tested for every dialect: `fold(parse_stream(sse)) == parse_result(json)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from shared.canonical.chat import Text, Thinking, ToolCall
from shared.canonical.errors import GatewayError
from shared.canonical.result import ChatResult, OutputPart, StopReason
from shared.canonical.usage import Usage

__all__ = [
    "ArgumentsDelta",
    "BlockKind",
    "BlockStart",
    "BlockStop",
    "Failure",
    "Finish",
    "SignatureDelta",
    "Start",
    "StreamEvent",
    "StreamViolation",
    "TextDelta",
    "ThinkingDelta",
    "UsageUpdate",
    "explode",
    "fold",
]

BlockKind = Literal["text", "thinking", "tool_call"]


class Start(msgspec.Struct, frozen=True, tag="start"):
    id: str
    model: str
    created: int = 0
    usage: Usage | None = None


class BlockStart(msgspec.Struct, frozen=True, tag="block_start"):
    index: int
    kind: BlockKind
    tool_call_id: str | None = None
    tool_name: str | None = None
    redacted: str | None = None  # for an opaque (redacted/encrypted) thinking block


class TextDelta(msgspec.Struct, frozen=True, tag="text_delta"):
    index: int
    text: str


class ThinkingDelta(msgspec.Struct, frozen=True, tag="thinking_delta"):
    index: int
    text: str


class SignatureDelta(msgspec.Struct, frozen=True, tag="signature_delta"):
    index: int
    signature: str


class ArgumentsDelta(msgspec.Struct, frozen=True, tag="arguments_delta"):
    index: int
    fragment: str


class BlockStop(msgspec.Struct, frozen=True, tag="block_stop"):
    index: int


class UsageUpdate(msgspec.Struct, frozen=True, tag="usage"):
    usage: Usage


class Finish(msgspec.Struct, frozen=True, tag="finish"):
    stop_reason: StopReason
    stop_sequence: str | None = None
    usage: Usage | None = None


class Failure(msgspec.Struct, frozen=True, tag="failure"):
    """The upstream failed mid-stream; renderers turn this into their dialect's in-band error."""

    error: GatewayError


StreamEvent = (
    Start
    | BlockStart
    | TextDelta
    | ThinkingDelta
    | SignatureDelta
    | ArgumentsDelta
    | BlockStop
    | UsageUpdate
    | Finish
    | Failure
)


class StreamViolation(ValueError):
    """A sequence of events broke the grammar above (a parser bug, never the client's fault)."""


class _Block:
    __slots__ = ("id", "kind", "name", "redacted", "signature", "text")

    def __init__(self, start: BlockStart) -> None:
        self.kind = start.kind
        self.id = start.tool_call_id
        self.name = start.tool_name
        self.redacted = start.redacted
        self.text: list[str] = []
        self.signature: str | None = None

    def part(self) -> OutputPart:
        joined = "".join(self.text)
        if self.kind == "text":
            return Text(joined)
        if self.kind == "thinking":
            return Thinking(text=joined, signature=self.signature, redacted=self.redacted)
        return ToolCall(id=self.id or "", name=self.name or "", arguments=joined or "{}", signature=self.signature)


class _Folder:
    """Assembles blocks while checking the grammar; one method per event kind."""

    def __init__(self) -> None:
        self.start: Start | None = None
        self.parts: list[OutputPart] = []
        self.block: _Block | None = None
        self.usage = Usage()

    def _open(self, index: int, what: str) -> _Block:
        if self.block is None or index != len(self.parts):
            raise StreamViolation(f"{what} for block {index}, which is not the open block")
        return self.block

    def on_start(self, event: Start) -> None:
        self.start = event
        self.usage = event.usage or self.usage

    def on_block_start(self, event: BlockStart) -> None:
        if self.block is not None or event.index != len(self.parts):
            raise StreamViolation(f"block {event.index} started out of order")
        self.block = _Block(event)

    def on_text(self, event: TextDelta | ThinkingDelta) -> None:
        self._open(event.index, "text").text.append(event.text)

    def on_arguments(self, event: ArgumentsDelta) -> None:
        self._open(event.index, "arguments").text.append(event.fragment)

    def on_signature(self, event: SignatureDelta) -> None:
        block = self._open(event.index, "signature")
        block.signature = (block.signature or "") + event.signature

    def on_block_stop(self, event: BlockStop) -> None:
        self.parts.append(self._open(event.index, "stop").part())
        self.block = None

    def on_usage(self, event: UsageUpdate) -> None:
        self.usage = event.usage

    def result(self, event: Finish) -> ChatResult:
        if self.start is None or self.block is not None:
            raise StreamViolation("finish before start or with a block still open")
        return ChatResult(
            id=self.start.id,
            model=self.start.model,
            created=self.start.created,
            content=tuple(self.parts),
            stop_reason=event.stop_reason,
            stop_sequence=event.stop_sequence,
            usage=event.usage or self.usage,
        )


def fold(events: Iterable[StreamEvent]) -> ChatResult:
    """Assemble a stream into the result it describes; a Failure raises its error."""
    folder = _Folder()
    handlers: dict[type, Any] = {
        Start: folder.on_start,
        BlockStart: folder.on_block_start,
        TextDelta: folder.on_text,
        ThinkingDelta: folder.on_text,
        ArgumentsDelta: folder.on_arguments,
        SignatureDelta: folder.on_signature,
        BlockStop: folder.on_block_stop,
        UsageUpdate: folder.on_usage,
    }
    for event in events:
        if isinstance(event, Finish):
            return folder.result(event)
        if isinstance(event, Failure):
            raise event.error
        handlers[type(event)](event)
    raise StreamViolation("the stream ended without a finish event")


def explode(result: ChatResult) -> list[StreamEvent]:
    """The canonical stream that folds back into `result` (for replays and non-streaming upstreams)."""
    events: list[StreamEvent] = [Start(id=result.id, model=result.model, created=result.created)]
    for index, part in enumerate(result.content):
        if isinstance(part, Text):
            events += [BlockStart(index, "text"), TextDelta(index, part.text), BlockStop(index)]
        elif isinstance(part, Thinking):
            events.append(BlockStart(index, "thinking", redacted=part.redacted))
            if part.text:
                events.append(ThinkingDelta(index, part.text))
            if part.signature:
                events.append(SignatureDelta(index, part.signature))
            events.append(BlockStop(index))
        else:
            events.append(BlockStart(index, "tool_call", tool_call_id=part.id, tool_name=part.name))
            events.append(ArgumentsDelta(index, part.arguments))
            if part.signature:
                events.append(SignatureDelta(index, part.signature))
            events.append(BlockStop(index))
    events.append(Finish(result.stop_reason, result.stop_sequence, result.usage))
    return events
