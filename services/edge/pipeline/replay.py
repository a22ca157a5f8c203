"""The signature replay store: what a client's API cannot carry across turns, kept in Redis.

Anthropic thinking blocks must come back with their signatures when a tool result is sent, and
Gemini wants each function call's thoughtSignature back. An OpenAI Chat or Ollama client has
nowhere to put them, so when such a client receives a tool-calling turn the edge stores the turn's
thinking blocks and signatures under each tool call id (24 h), and re-attaches them when that
tool call comes back in a later request, on whichever edge replica it lands.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared import metrics
from shared.canonical.chat import ChatRequest, Message, Part, Thinking, ToolCall
from shared.canonical.events import (
    ArgumentsDelta,
    BlockStart,
    BlockStop,
    SignatureDelta,
    StreamEvent,
    ThinkingDelta,
)
from shared.canonical.result import OutputPart
from shared.kv import keys

__all__ = ["ReplayRecord", "ReplayStore", "SignatureCollector"]

log = logging.getLogger(__name__)


class ReplayRecord(msgspec.Struct, frozen=True):
    thinking: tuple[Thinking, ...] = ()
    signature: str | None = None
    origin: str | None = None  # the provider dialect that issued the signatures


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ReplayRecord)
_SORTED = msgspec.json.Encoder(order="sorted")


def content_key(scope: str, call: ToolCall) -> str:
    """The call by what it is (name and arguments), within one API key's traffic."""
    try:
        arguments = _SORTED.encode(msgspec.json.decode(call.arguments or "{}"))
    except msgspec.DecodeError:
        arguments = call.arguments.encode()
    digest = hashlib.sha256(scope.encode() + b"\x1f" + call.name.encode() + b"\x1f" + arguments).hexdigest()
    return keys.replay_by_content(digest[:40])


def records_for(parts: Sequence[OutputPart], origin: str) -> dict[str, ReplayRecord]:
    """Per tool call id: the thinking that led to the first call of the turn, and each call's signature."""
    thinking = tuple(
        msgspec.structs.replace(p, origin=origin)
        for p in parts
        if isinstance(p, Thinking) and (p.signature or p.redacted)
    )
    calls = [p for p in parts if isinstance(p, ToolCall)]
    records: dict[str, ReplayRecord] = {}
    for position, call in enumerate(calls):
        record = ReplayRecord(thinking if position == 0 else (), call.signature, origin)
        if record.thinking or record.signature:
            records[call.id] = record
    return records


def _restored(message: Message, found: dict[str, ReplayRecord]) -> Message:
    parts: list[Part] = []
    signed_thinking = any(isinstance(p, Thinking) and p.signature for p in message.content)
    for part in message.content:
        if isinstance(part, ToolCall) and part.id in found:
            record = found[part.id]
            if record.thinking and not signed_thinking:
                # Unsigned echoes (e.g. reasoning_content) are replaced by the signed originals, first.
                parts = [*record.thinking, *(p for p in parts if not isinstance(p, Thinking))]
                signed_thinking = True
            if part.signature is None and record.signature:
                part = msgspec.structs.replace(part, signature=record.signature, origin=record.origin)
        parts.append(part)
    return Message(message.role, tuple(parts), message.name)


class ReplayStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def restore(
        self, request: ChatRequest, scope: str, round_trip: Callable[[], None] | None = None
    ) -> ChatRequest:
        wanted = [
            part
            for message in request.messages
            if message.role == "assistant"
            for part in message.content
            if isinstance(part, ToolCall) and part.signature is None
        ]
        if not wanted:
            return request
        lookups = [keys.replay(call.id) for call in wanted] + [content_key(scope, call) for call in wanted]
        if round_trip is not None:
            round_trip()
        try:
            values = await self._redis.mget(lookups)
        except (RedisError, OSError):
            metrics.REDIS_ERRORS.labels(operation="replay_restore").inc()
            return request
        found: dict[str, ReplayRecord] = {}
        for position, call in enumerate(wanted):
            raw = values[position] or values[position + len(wanted)]  # by id, else by content
            if raw:
                found[call.id] = _DECODER.decode(raw)
        if not found:
            return request
        messages = tuple(_restored(m, found) if m.role == "assistant" else m for m in request.messages)
        return msgspec.structs.replace(request, messages=messages)

    async def save(
        self, parts: Sequence[OutputPart], origin: str, scope: str, round_trip: Callable[[], None] | None = None
    ) -> None:
        records = records_for(parts, origin)
        if not records:
            return
        if round_trip is not None:
            round_trip()
        calls = {part.id: part for part in parts if isinstance(part, ToolCall)}
        pipe = self._redis.pipeline(transaction=False)
        for ident, record in records.items():
            value = _ENCODER.encode(record)
            pipe.set(keys.replay(ident), value, ex=keys.REPLAY_TTL_SECONDS)
            pipe.set(content_key(scope, calls[ident]), value, ex=keys.REPLAY_TTL_SECONDS)
        try:
            await pipe.execute()
        except (RedisError, OSError):
            metrics.REDIS_ERRORS.labels(operation="replay_save").inc()
            log.warning("could not keep thinking signatures for a later turn")


class SignatureCollector:
    """Watches a canonical stream for the parts `records_for` needs (thinking, signatures, tool calls)."""

    __slots__ = ("_kinds", "_open", "parts")

    def __init__(self) -> None:
        self.parts: list[OutputPart] = []
        self._open: dict[int, list[str]] = {}  # block -> [thinking text or arguments, signature]
        self._kinds: dict[int, BlockStart] = {}

    def observe(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            if isinstance(event, BlockStart) and event.kind != "text":
                self._kinds[event.index] = event
                self._open[event.index] = ["", ""]  # text, signature
            elif isinstance(event, ThinkingDelta) and event.index in self._open:
                self._open[event.index][0] += event.text
            elif isinstance(event, ArgumentsDelta) and event.index in self._open:
                self._open[event.index][0] += event.fragment
            elif isinstance(event, SignatureDelta) and event.index in self._open:
                self._open[event.index][1] += event.signature
            elif isinstance(event, BlockStop) and event.index in self._open:
                self._close(event.index)

    def _close(self, index: int) -> None:
        text, signature = self._open.pop(index)
        start = self._kinds.pop(index)
        if start.kind == "thinking":
            self.parts.append(Thinking(text=text, signature=signature or None, redacted=start.redacted))
        else:
            self.parts.append(
                ToolCall(
                    id=start.tool_call_id or "",
                    name=start.tool_name or "",
                    arguments=text or "{}",
                    signature=signature or None,
                )
            )
