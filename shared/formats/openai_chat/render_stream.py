"""OpenAI Chat, client side: canonical stream events -> `chat.completion.chunk` SSE frames.

Role first, then content / reasoning_content / tool_calls deltas, a chunk with `finish_reason`,
the usage chunk (`choices: []`) only when the client asked for it, then `data: [DONE]`.
A Failure ends the stream with `data: {"error": ...}` and no `[DONE]`.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.events import (
    ArgumentsDelta,
    BlockStart,
    Failure,
    Finish,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UsageUpdate,
)
from shared.canonical.usage import Usage
from shared.formats.openai_chat.inbound import error_body
from shared.formats.openai_chat.usage import FINISH_REASONS, usage_body
from shared.sse import data_frame

__all__ = ["ChatStreamRenderer", "stream_renderer"]

DONE = b"data: [DONE]\n\n"


class ChatStreamRenderer:
    __slots__ = ("_created", "_id", "_model", "_tool_index", "_tool_of_block", "_usage", "_wants_usage")

    def __init__(self, request: ChatRequest) -> None:
        self._wants_usage = request.wants_usage_in_stream
        self._id = ""
        self._model = request.model
        self._created = 0
        self._usage = Usage()
        self._tool_index = 0
        self._tool_of_block: dict[int, int] = {}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self._wants_usage:
            chunk["usage"] = None
        return data_frame(jsonx.dumps(chunk))

    def render(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text}) if event.text else b""
        if isinstance(event, ThinkingDelta):
            return self._chunk({"reasoning_content": event.text}) if event.text else b""
        if isinstance(event, ArgumentsDelta):
            index = self._tool_of_block[event.index]
            return self._chunk({"tool_calls": [{"index": index, "function": {"arguments": event.fragment}}]})
        if isinstance(event, BlockStart):
            return self._block_start(event)
        if isinstance(event, Start):
            self._id, self._model, self._created = event.id, event.model or self._model, event.created
            self._usage = event.usage or self._usage
            return self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return b""
        if isinstance(event, Finish):
            return self._finish(event)
        if isinstance(event, Failure):
            return data_frame(jsonx.dumps(error_body(event.error)))
        return b""  # block stops and signatures have no OpenAI Chat wire form

    def _block_start(self, event: BlockStart) -> bytes:
        if event.kind != "tool_call":
            return b""
        index = self._tool_index
        self._tool_index += 1
        self._tool_of_block[event.index] = index
        call = {
            "index": index,
            "id": event.tool_call_id,
            "type": "function",
            "function": {"name": event.tool_name, "arguments": ""},
        }
        return self._chunk({"tool_calls": [call]})

    def _finish(self, event: Finish) -> bytes:
        usage = event.usage or self._usage
        out = self._chunk({}, FINISH_REASONS[event.stop_reason])
        if self._wants_usage:
            final = {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [],
                "usage": usage_body(usage),
            }
            out += data_frame(jsonx.dumps(final))
        return out + DONE


def stream_renderer(request: ChatRequest) -> ChatStreamRenderer:
    return ChatStreamRenderer(request)
