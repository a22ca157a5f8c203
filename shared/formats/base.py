"""What a dialect is: a folder of pure functions gathered into one `Dialect` record.

Client side (the API a caller speaks to the gateway):
    parse_request(body, context) -> ParsedRequest        raises BadRequest (a 400 naming the problem)
    render_result(result, request) -> bytes              the non-streaming answer
    stream_renderer(request) -> StreamRenderer           canonical events -> bytes, incrementally
    render_error(error) -> bytes                         the dialect's error body

Provider side (the API the gateway speaks to an upstream):
    build_request(request, options) -> UpstreamCall      translated from the canonical request
    passthrough_request(body, request, options) -> UpstreamCall
                                                         same dialect both ways: the client's own body,
                                                         only the model swapped (nothing it sent is lost)
    parse_result(body) -> ChatResult
    stream_parser(request) -> StreamParser               frames -> canonical events, incrementally
    classify_error(status, headers, body) -> GatewayError

Everything here is pure: no I/O, no clock, no globals; the edge does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from shared.canonical.chat import ChatRequest
from shared.canonical.errors import GatewayError
from shared.canonical.events import StreamEvent
from shared.canonical.result import ChatResult, StopReason
from shared.sse import SSEEvent

__all__ = [
    "BuildOptions",
    "Dialect",
    "Framing",
    "ParsedRequest",
    "RequestContext",
    "StreamParser",
    "StreamRenderer",
    "Trait",
    "UpstreamCall",
]

Framing = Literal["sse", "ndjson"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Facts the route knows besides the body: a model or stream flag carried in the URL, headers."""

    path_model: str | None = None  # Gemini: /v1beta/models/{model}:generateContent
    path_stream: bool | None = None  # Gemini: :streamGenerateContent
    headers: Mapping[str, str] = field(default_factory=dict)  # allow-listed client headers (anthropic-beta, ...)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    request: ChatRequest
    body: dict[str, Any]  # the decoded client body, for same-dialect passthrough


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What the provider side needs to know about the chosen target besides the request."""

    model: str  # the model id the upstream expects
    echo_reasoning: bool = False  # send reasoning back in assistant turns (DeepSeek, Kimi need it)


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """A request for the upstream, relative to the connection's base URL (auth is added by the edge)."""

    path: str  # e.g. "/chat/completions", "/v1/messages", "/v1beta/models/x:streamGenerateContent?alt=sse"
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    stream: bool = False


class StreamParser(Protocol):
    """Provider side: upstream frames in, canonical events out (see shared/canonical/events.py)."""

    def parse(self, frame: SSEEvent) -> list[StreamEvent]: ...

    def end(self) -> list[StreamEvent]:
        """The upstream closed the stream: flush, or a Failure if its terminal frame never came."""
        ...


class StreamRenderer(Protocol):
    """Client side: canonical events in, the dialect's wire bytes out. A Failure renders the in-band error."""

    def render(self, event: StreamEvent) -> bytes: ...


# What a dialect's wire format can carry beyond plain text and tool calls. The edge keeps what a
# client dialect cannot carry (signatures) in its replay store; the matrix tests compare results
# only on what both ends carry.
Trait = Literal[
    "thinking",  # reasoning text
    "thinking_signature",  # opaque signature of a thinking block
    "redacted_thinking",  # opaque encrypted thinking
    "tool_signature",  # Gemini thoughtSignature on a function call
    "tool_call_ids",  # ids on tool calls (Gemini and Ollama may lack them)
    "result_id",
    "created",
    "cached_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "stop_sequence",
]


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    framing: Framing  # how its streams are framed (SSE or NDJSON)
    stream_media_type: str
    carries: frozenset[Trait]
    # Stop reasons the wire cannot tell apart collapse on a round trip (e.g. OpenAI "stop_sequence" -> "end").
    stop_collapse: Mapping[StopReason, StopReason]
    # client side
    parse_request: Callable[[bytes, RequestContext], ParsedRequest]
    render_result: Callable[[ChatResult, ChatRequest], bytes]
    stream_renderer: Callable[[ChatRequest], StreamRenderer]
    render_error: Callable[[GatewayError], bytes]
    # provider side
    build_request: Callable[[ChatRequest, BuildOptions], UpstreamCall]
    passthrough_request: Callable[[dict[str, Any], ChatRequest, BuildOptions], UpstreamCall]
    parse_result: Callable[[bytes], ChatResult]
    stream_parser: Callable[[ChatRequest], StreamParser]
    classify_error: Callable[[int, Mapping[str, str], bytes], GatewayError]
