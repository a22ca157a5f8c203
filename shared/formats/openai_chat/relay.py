"""Relaying an OpenAI Chat SSE stream to an OpenAI client, incrementally.

Only `data:` frames reach the client (upstream `id:`, `event:`, `retry:` and comment lines never
do), the usage chunk the gateway asked for is withheld when the client did not ask for it, and
a stream that breaks before `[DONE]` ends with an in-band error frame, never a fake `[DONE]`.
"""

from __future__ import annotations

import re

from shared import jsonx
from shared.canonical.errors import GatewayError, UpstreamError
from shared.canonical.usage import Usage
from shared.formats.openai_chat.inbound import error_body
from shared.formats.openai_chat.usage import parse_usage
from shared.logs import redact
from shared.sse import SSEEvent, SSEParser, SSETooLarge, data_frame

__all__ = ["DONE_FRAME", "OpenAIStreamRelay", "error_frame"]

DONE_FRAME = b"data: [DONE]\n\n"
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
_ERROR_OBJECT = re.compile(rb'^\s*\{\s*"error"\s*:')


def error_frame(error: GatewayError) -> bytes:
    return data_frame(jsonx.dumps(error_body(error)))


class OpenAIStreamRelay:
    """Feed upstream bytes, get client bytes; remembers usage and whether the stream finished."""

    __slots__ = ("_parser", "_wants_usage", "chunks", "done", "error", "usage")

    def __init__(self, wants_usage: bool) -> None:
        self._parser = SSEParser()
        self._wants_usage = wants_usage
        self.usage = Usage()
        self.done = False
        self.error: GatewayError | None = None
        self.chunks = 0

    def feed(self, chunk: bytes) -> bytes:
        if self.done or self.error is not None:
            return b""
        try:
            events = self._parser.feed(chunk)
        except SSETooLarge:
            self.error = UpstreamError("The upstream sent an oversized stream event.", code="upstream_stream_error")
            return error_frame(self.error)
        return self._relay(events)

    def finish(self) -> bytes:
        """Upstream closed: flush, and end with an error frame if `[DONE]` never came."""
        if self.done or self.error is not None:
            return b""
        try:
            out = self._relay(self._parser.close())
        except SSETooLarge:
            out = b""
        if not self.done and self.error is None:
            self.error = UpstreamError("The upstream stream ended before completion.", code="stream_interrupted")
            out += error_frame(self.error)
        return out

    def _relay(self, events: list[SSEEvent]) -> bytes:
        out = bytearray()
        for event in events:
            if self.done or self.error is not None:
                break  # nothing is relayed after the terminal frame
            out += self._one(event)
        return bytes(out)

    def _one(self, event: SSEEvent) -> bytes:
        data = event.data
        if data == b"[DONE]":
            self.done = True
            return DONE_FRAME
        if event.event == "error" or _ERROR_OBJECT.match(data):
            self.error = _upstream_stream_error(data)
            return error_frame(self.error)
        self.chunks += 1
        if _USAGE_OBJECT.search(data):
            return self._usage_chunk(data)
        return data_frame(data)

    def _usage_chunk(self, data: bytes) -> bytes:
        try:
            body = jsonx.loads(data)
        except jsonx.JSONDecodeError:
            return data_frame(data)
        if isinstance(body, dict):
            self.usage = parse_usage(body.get("usage"))
            if not self._wants_usage and body.get("choices") == []:
                return b""  # the usage-only chunk exists because we asked for it
        return data_frame(data)


def _upstream_stream_error(data: bytes) -> GatewayError:
    message = "The upstream provider reported an error mid-stream."
    try:
        body = jsonx.loads(data)
    except jsonx.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        inner = body.get("error")
        text = inner.get("message") if isinstance(inner, dict) else inner
        if isinstance(text, str) and text:
            message = redact(text)[:2000]
    return UpstreamError(message, code="upstream_stream_error")
