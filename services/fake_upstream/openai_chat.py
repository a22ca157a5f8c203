"""Deterministic OpenAI Chat Completions answers, in the shapes OpenAI documents.

JSON: a `chat.completion` object with `usage`. SSE: `chat.completion.chunk` events (role first,
then content pieces, then a chunk with `finish_reason`), a usage-only chunk with `choices: []`
when `stream_options.include_usage` is true (every earlier chunk then carries `"usage": null`),
and `data: [DONE]`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from shared import jsonx

__all__ = ["Answer", "build_answer", "completion_body", "stream_events"]

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


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _count_words(text: str) -> int:
    return len(text.split())


class Answer:
    __slots__ = ("completion_id", "created", "model", "pieces", "prompt_tokens", "text")

    def __init__(self, completion_id: str, model: str, text: str, prompt_tokens: int, created: int) -> None:
        self.completion_id = completion_id
        self.model = model
        self.text = text
        words = text.split(" ")
        self.pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        self.prompt_tokens = prompt_tokens
        self.created = created

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces)

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }


def build_answer(body: dict[str, Any], words: int | None, created: int) -> Answer:
    messages = body.get("messages")
    said = last_user_text(messages)
    if words is not None:
        text = " ".join(_FILLER[i % len(_FILLER)] for i in range(max(1, words)))
    else:
        said_clean = " ".join(said.split())[:200]
        text = f"Hello! You said: {said_clean}" if said_clean else "Hello!"
    prompt = (
        sum(_count_words(_text_of(m.get("content"))) + 3 for m in messages if isinstance(m, dict))
        if isinstance(messages, list)
        else 0
    )
    digest = hashlib.sha256(jsonx.dumps(messages)).hexdigest()[:24]
    return Answer(f"chatcmpl-{digest}", str(body.get("model", "")), text, prompt, created)


def completion_body(answer: Answer) -> bytes:
    return jsonx.dumps(
        {
            "id": answer.completion_id,
            "object": "chat.completion",
            "created": answer.created,
            "model": answer.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": answer.usage(),
            "system_fingerprint": "fp_fake",
        }
    )


def _chunk(answer: Answer, delta: dict[str, Any], finish: str | None, with_usage: bool) -> bytes:
    chunk: dict[str, Any] = {
        "id": answer.completion_id,
        "object": "chat.completion.chunk",
        "created": answer.created,
        "model": answer.model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if with_usage:
        chunk["usage"] = None
    return jsonx.dumps(chunk)


def stream_events(answer: Answer, include_usage: bool) -> list[bytes]:
    """The `data:` payloads of the stream, in order (without the SSE framing)."""
    events = [_chunk(answer, {"role": "assistant", "content": "", "refusal": None}, None, include_usage)]
    events.extend(_chunk(answer, {"content": piece}, None, include_usage) for piece in answer.pieces)
    events.append(_chunk(answer, {}, "stop", include_usage))
    if include_usage:
        events.append(
            jsonx.dumps(
                {
                    "id": answer.completion_id,
                    "object": "chat.completion.chunk",
                    "created": answer.created,
                    "model": answer.model,
                    "system_fingerprint": "fp_fake",
                    "choices": [],
                    "usage": answer.usage(),
                }
            )
        )
    events.append(b"[DONE]")
    return events
