"""Where a thinking signature came from, so it is only ever sent back to the provider that issued it.

Anthropic verifies thinking signatures and Gemini verifies thoughtSignatures; each rejects the
other's (and OpenAI Responses' encrypted reasoning). When a signature issued by provider dialect P
is shown to a client of another dialect, it is tagged `omni:P:<signature>`; when a request comes
back, tags are read to know each signature's origin (an untagged signature belongs to the client's
own dialect), and before building a request for provider Q every signature not issued by Q is
dropped. Same-dialect traffic is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from shared.canonical.chat import ChatRequest, Message, Part, Thinking, ToolCall
from shared.canonical.events import BlockStart, BlockStop, SignatureDelta, StreamEvent
from shared.canonical.result import ChatResult, OutputPart

__all__ = ["SignatureTagger", "attribute", "keep_for", "tag_result"]

_TAG = "omni:"


def _split(signature: str, default: str) -> tuple[str, str]:
    if signature.startswith(_TAG):
        origin, sep, raw = signature[len(_TAG) :].partition(":")
        if sep and origin:
            return origin, raw
    return default, signature


def _attributed(part: Part, client: str) -> Part:
    if isinstance(part, Thinking) and (part.signature or part.redacted):
        origin, signature = _split(part.signature, client) if part.signature else (client, None)
        redacted_origin, redacted = _split(part.redacted, origin) if part.redacted else (origin, None)
        return Thinking(text=part.text, signature=signature, redacted=redacted, origin=redacted_origin)
    if isinstance(part, ToolCall) and part.signature:
        origin, signature = _split(part.signature, client)
        return msgspec.structs.replace(part, signature=signature, origin=origin)
    return part


def attribute(request: ChatRequest, client: str) -> ChatRequest:
    """Read the origin of every signature in the client's history (tags stripped)."""
    if not any(m.role == "assistant" for m in request.messages):
        return request
    messages = tuple(
        Message(m.role, tuple(_attributed(p, client) for p in m.content), m.name) if m.role == "assistant" else m
        for m in request.messages
    )
    return msgspec.structs.replace(request, messages=messages)


def _kept(part: Part, provider: str) -> Part | None:
    if isinstance(part, Thinking) and part.origin not in (None, provider):
        if not part.text:
            return None  # nothing but another provider's opaque proof
        return Thinking(text=part.text)
    if isinstance(part, ToolCall) and part.origin not in (None, provider):
        return msgspec.structs.replace(part, signature=None, origin=None)
    return part


def keep_for(request: ChatRequest, provider: str) -> ChatRequest:
    """Drop every signature the provider did not issue itself."""
    messages = []
    for message in request.messages:
        if message.role != "assistant":
            messages.append(message)
            continue
        parts = tuple(p for p in (_kept(part, provider) for part in message.content) if p is not None)
        messages.append(Message(message.role, parts, message.name))
    return msgspec.structs.replace(request, messages=tuple(messages))


def _tag(value: str | None, origin: str) -> str | None:
    return f"{_TAG}{origin}:{value}" if value else value


def _tagged(part: OutputPart, origin: str) -> OutputPart:
    if isinstance(part, Thinking):
        return Thinking(text=part.text, signature=_tag(part.signature, origin), redacted=_tag(part.redacted, origin))
    if isinstance(part, ToolCall) and part.signature:
        return msgspec.structs.replace(part, signature=_tag(part.signature, origin))
    return part


def tag_result(result: ChatResult, origin: str) -> ChatResult:
    """Tag the signatures of an answer from `origin` before a client of another dialect sees them."""
    return msgspec.structs.replace(result, content=tuple(_tagged(part, origin) for part in result.content))


class SignatureTagger:
    """The streaming form of `tag_result`: the first signature fragment of each block gets the tag."""

    __slots__ = ("_origin", "_tagged")

    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._tagged: set[int] = set()

    def apply(self, events: Iterable[StreamEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for event in events:
            if isinstance(event, SignatureDelta) and event.index not in self._tagged:
                self._tagged.add(event.index)
                event = SignatureDelta(event.index, f"{_TAG}{self._origin}:{event.signature}")
            elif isinstance(event, BlockStart) and event.redacted:
                event = msgspec.structs.replace(event, redacted=f"{_TAG}{self._origin}:{event.redacted}")
            elif isinstance(event, BlockStop):
                self._tagged.discard(event.index)
            out.append(event)
        return out
