"""Relaying an upstream stream to the client, incrementally, in the client's dialect.

Every upstream frame goes through the provider dialect's parser (for usage, termination and
errors). Across dialects the canonical events are rendered by the client dialect's renderer;
within one dialect the frames themselves are forwarded (normalised: no comments, ids or retry
fields), so nothing the upstream sent is lost. Either way a stream ends with the client dialect's
terminal frame, or with its in-band error: never a silent close, never a fake success.
"""

from __future__ import annotations

import time

from services.edge.pipeline.replay import SignatureCollector
from services.edge.pipeline.signatures import SignatureTagger
from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import GatewayError, UpstreamError
from shared.canonical.events import (
    ArgumentsDelta,
    Failure,
    Finish,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UsageUpdate,
)
from shared.canonical.usage import Usage
from shared.formats.base import Dialect
from shared.formats.framing import FrameReader, FrameTooLarge, write_frame
from shared.sse import SSEEvent, event_frame

__all__ = ["StreamRelay"]

_PROGRESS_EVERY = 2.0
_DONE = b"data: [DONE]\n\n"


def _usage_only(data: bytes) -> bool:
    """`{"choices": [], "usage": {...}}`, however it is spaced (only frames that carried usage get here)."""
    try:
        chunk = jsonx.loads(data)
    except jsonx.JSONDecodeError:
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == []


class StreamRelay:
    __slots__ = (
        "_client",
        "_collector",
        "_last_progress",
        "_parser",
        "_passthrough",
        "_progress",
        "_provider",
        "_reader",
        "_renderer",
        "_request",
        "_started",
        "_tagger",
        "_tokens",
        "error",
        "finished",
        "usage",
    )

    def __init__(
        self,
        client: Dialect,
        provider: Dialect,
        request: ChatRequest,
        *,
        progress: bool = False,
        collector: SignatureCollector | None = None,
        tagger: SignatureTagger | None = None,
    ) -> None:
        self._client, self._provider, self._request = client, provider, request
        self._passthrough = client.name == provider.name
        self._reader = FrameReader(provider.framing)
        self._parser = provider.stream_parser(request)
        self._renderer = client.stream_renderer(request)
        self._progress = progress and client.framing == "sse"
        self._collector = collector
        self._tagger = tagger
        self._started = self._last_progress = time.perf_counter()
        self._tokens = 0
        self.usage = Usage()
        self.finished = False  # the client has received its terminal frame (success or error)
        self.error: GatewayError | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self.finished:
            return b""
        try:
            frames = self._reader.feed(chunk)
        except FrameTooLarge:
            oversized = UpstreamError("The upstream sent an oversized stream event.", code="upstream_stream_error")
            return self.fail(oversized)
        return self._frames(frames)

    def end(self) -> bytes:
        """The upstream closed: flush, and end with an in-band error if its terminal frame never came."""
        if self.finished:
            return b""
        try:
            out = self._frames(self._reader.close())
        except FrameTooLarge:
            out = b""
        if not self.finished:
            out += self._events(self._parser.end(), None)
        if not self.finished:
            out += self.fail(UpstreamError("The upstream stream ended before completion.", code="stream_interrupted"))
        return out

    def fail(self, error: GatewayError) -> bytes:
        """The upstream broke (timeout, connection): the client gets its dialect's in-band error."""
        if self.finished:
            return b""
        self.finished = True
        self.error = error
        return self._renderer.render(Failure(error))

    def _frames(self, frames: list[SSEEvent]) -> bytes:
        out = bytearray()
        for frame in frames:
            if self.finished:
                break
            out += self._events(self._parser.parse(frame), frame)
        if self._progress and time.perf_counter() - self._last_progress >= _PROGRESS_EVERY and not self.finished:
            out += self._progress_frame(done=False)
        return bytes(out)

    def _events(self, events: list[StreamEvent], frame: SSEEvent | None) -> bytes:
        if self._collector is not None:
            self._collector.observe(events)
        if self._tagger is not None:
            events = self._tagger.apply(events)
        out = bytearray()
        for event in events:
            self._account(event)
            if isinstance(event, Failure):
                out += self.fail(event.error)
                break
            if isinstance(event, Finish):
                if self._progress:
                    out += self._progress_frame(done=True)  # before the frame that ends the stream
                if not self._passthrough:
                    out += self._renderer.render(event)
                elif frame is None and self._client.name == "openai_chat":
                    out += _DONE  # the upstream ended cleanly without [DONE]: the client still gets it
                self.finished = True
                break
            if not self._passthrough:
                out += self._renderer.render(event)
        if self._passthrough and frame is not None and self.error is None and self._keep(frame, events):
            if self._client.name == "openai_chat":
                frame = frame._replace(event=None)  # OpenAI clients accept only unnamed events
            out += write_frame(frame, self._client.framing)
        return bytes(out)

    def _keep(self, frame: SSEEvent, events: list[StreamEvent]) -> bool:
        # The gateway asked an OpenAI upstream for usage; a client that did not ask never sees that chunk.
        if self._client.name == "openai_chat" and not self._request.wants_usage_in_stream:
            return not (any(isinstance(event, UsageUpdate) for event in events) and _usage_only(frame.data))
        return True

    def _account(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta | ThinkingDelta | ArgumentsDelta):
            self._tokens += 1
        elif isinstance(event, UsageUpdate) or (isinstance(event, Finish | Start) and event.usage is not None):
            self.usage = event.usage or self.usage

    def _progress_frame(self, done: bool) -> bytes:
        self._last_progress = time.perf_counter()
        payload: dict[str, object] = {
            "tokens_generated": self._tokens,
            "elapsed_ms": round((self._last_progress - self._started) * 1000),
        }
        if done:
            payload["done"] = True
        return event_frame("progress", jsonx.dumps(payload))
