"""OpenAI Chat Completions (`/v1/chat/completions`)."""

from __future__ import annotations

from shared.formats.base import Dialect
from shared.formats.openai_chat.inbound import parse_request, render_error, render_result
from shared.formats.openai_chat.outbound import build_request, classify_error, parse_result, passthrough_request
from shared.formats.openai_chat.parse_stream import stream_parser
from shared.formats.openai_chat.render_stream import stream_renderer

__all__ = ["DIALECT"]

DIALECT = Dialect(
    name="openai_chat",
    framing="sse",
    stream_media_type="text/event-stream",
    carries=frozenset({"thinking", "tool_call_ids", "result_id", "created", "cached_tokens", "reasoning_tokens"}),
    stop_collapse={"stop_sequence": "end", "refusal": "content_filter", "pause": "end", "error": "end"},
    parse_request=parse_request,
    render_result=render_result,
    stream_renderer=stream_renderer,
    render_error=render_error,
    build_request=build_request,
    passthrough_request=passthrough_request,
    parse_result=parse_result,
    stream_parser=stream_parser,
    classify_error=classify_error,
)
