"""The fake provider's brain: a deterministic answer to a conversation, independent of any wire format.

Each dialect module reads its provider's request format into a `Conversation` and writes the
`FakeAnswer` back in that provider's exact wire format. This module never imports the gateway's
own dialect code, so the fake cannot share (and hide) the gateway's translation bugs.

Policy (deterministic, so tests can predict every byte):
- the last turn is a user turn and tools are offered -> call tools (`tool_calls=N`, default 1;
  arguments generated from each tool's JSON schema);
- the last turn carries tool results -> answer "Tool results: <results joined by '; '>";
- otherwise text: "Hello! You said: <last user text>" (or `words=N` filler words), or a JSON
  object built from the requested schema in JSON mode;
- thinking was asked for -> a thinking block first: "Thinking about: <last user text>", with a
  deterministic signature where the dialect has one;
- images in the last user turn -> the text mentions "(N image(s))";
- `max_tokens` shorter than the answer -> the text is cut to that many words, stop = max_tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Literal

from services.fake_upstream.faults import Fault
from shared import jsonx

__all__ = ["Conversation", "FakeAnswer", "FakeToolCall", "answer", "fake_signature", "is_fake_signature"]

_SIGNATURE_PREFIX = b"fake-signature:"


def fake_signature(thinking: str) -> str:
    """A base64 stand-in for a provider's signature, verifiable later against the thinking it signs."""
    return base64.b64encode(_SIGNATURE_PREFIX + hashlib.sha256(thinking.encode()).digest()[:18]).decode()


def is_fake_signature(signature: object, thinking: str | None = None) -> bool:
    """Whether `signature` was issued by this fake (for `thinking`, when the thinking text is known)."""
    if not isinstance(signature, str) or not signature:
        return False
    if thinking is not None:
        return hmac.compare_digest(signature.encode(), fake_signature(thinking).encode())
    try:
        return base64.b64decode(signature, validate=True).startswith(_SIGNATURE_PREFIX)
    except ValueError:
        return False


_FILLER = [
    "The",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "the",
    "gateway",
    "relays",
    "every",
    "token",
    "in",
    "order",
    "and",
    "the",
    "benchmark",
    "counts",
    "each",
    "one",
    "without",
    "losing",
    "any",
    "of",
    "them",
    "along",
    "the",
    "way",
]


@dataclass(frozen=True, slots=True)
class FakeToolCall:
    index: int
    name: str
    arguments: dict[str, Any]
    key: str  # stable per conversation and index: dialect modules derive their ids from it

    @property
    def arguments_json(self) -> str:
        return jsonx.dumps_str(self.arguments)


@dataclass(slots=True)
class Conversation:
    model: str
    last_user_text: str = ""
    texts: list[str] = field(default_factory=list)  # every text in the request, for token counts
    tools: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, JSON schema)
    tool_results: list[str] = field(default_factory=list)  # texts of results in the last turn
    images: int = 0  # images in the last user turn
    wants_thinking: bool = False
    json_schema: dict[str, Any] | None = None
    json_mode: bool = False
    max_tokens: int | None = None
    # A history the real provider would refuse (e.g. a tool-calling turn sent back without its
    # thinking signature): the fake answers 400 with this message, as the provider does.
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class FakeAnswer:
    thinking: str | None
    signature: str | None  # deterministic stand-in for a provider's thinking signature
    text: str | None
    tool_calls: tuple[FakeToolCall, ...]
    stop: Literal["end", "max_tokens", "tool_use"]
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    key: str  # stable id material for the whole answer

    @property
    def text_pieces(self) -> list[str]:
        """The text as stream deltas: one word each, spaces kept with the following word."""
        if not self.text:
            return []
        words = self.text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    @property
    def thinking_pieces(self) -> list[str]:
        if not self.thinking:
            return []
        words = self.thinking.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _value_for(schema: Any, depth: int = 0) -> Any:
    if not isinstance(schema, dict) or depth > 5:
        return "test"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return [_value_for(schema.get("items"), depth + 1)]
    if kind == "object" or "properties" in schema:
        raw_properties, raw_required = schema.get("properties"), schema.get("required")
        properties: dict[str, Any] = raw_properties if isinstance(raw_properties, dict) else {}
        required: list[Any] = raw_required if isinstance(raw_required, list) else list(properties)
        return {name: _value_for(properties.get(name), depth + 1) for name in required if name in properties}
    return "Paris"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _count(texts: list[str]) -> int:
    return sum(len(t.split()) + 3 for t in texts)


def _text(conversation: Conversation, fault: Fault) -> str:
    if conversation.tool_results:
        return "Tool results: " + "; ".join(conversation.tool_results)
    if conversation.json_schema is not None:
        return jsonx.dumps_str(_value_for(conversation.json_schema))
    if conversation.json_mode:
        return jsonx.dumps_str({"answer": " ".join(conversation.last_user_text.split()[:8]) or "ok"})
    if fault.words is not None:
        return " ".join(_FILLER[i % len(_FILLER)] for i in range(max(1, fault.words)))
    said = " ".join(conversation.last_user_text.split())[:200]
    text = f"Hello! You said: {said}" if said else "Hello!"
    if conversation.images:
        text += f" ({conversation.images} image{'s' if conversation.images > 1 else ''})"
    return text


def answer(conversation: Conversation, fault: Fault) -> FakeAnswer:
    key = _digest(conversation.model, *conversation.texts)
    thinking = (
        f"Thinking about: {' '.join(conversation.last_user_text.split())[:120]}"
        if conversation.wants_thinking
        else None
    )
    signature = fake_signature(thinking) if thinking else None
    calls: tuple[FakeToolCall, ...] = ()
    text: str | None
    stop: Literal["end", "max_tokens", "tool_use"] = "end"
    if conversation.tools and not conversation.tool_results:
        count = max(1, fault.tool_calls or 1)
        calls = tuple(
            FakeToolCall(i, name, _value_for(schema), _digest(key, str(i))[:24])
            for i, (name, schema) in enumerate((conversation.tools * count)[:count])
        )
        text, stop = None, "tool_use"
    else:
        text = _text(conversation, fault)
        limit = conversation.max_tokens
        if limit is not None and len(text.split(" ")) > limit:
            text, stop = " ".join(text.split(" ")[:limit]), "max_tokens"
    reasoning = len(thinking.split()) if thinking else 0
    produced = len(text.split(" ")) if text else 0
    produced += sum(len(c.arguments_json) // 4 + 1 for c in calls)
    return FakeAnswer(
        thinking=thinking,
        signature=signature,
        text=text,
        tool_calls=calls,
        stop=stop,
        input_tokens=_count(conversation.texts),
        output_tokens=produced + reasoning,
        reasoning_tokens=reasoning,
        key=key,
    )
