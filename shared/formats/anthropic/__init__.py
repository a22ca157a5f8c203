"""Anthropic Messages (`/v1/messages`), both sides.

The client side also answers `/v1/messages/count_tokens` (`inbound.render_count`) and the
provider side builds and reads it (`outbound.count_tokens_request`, `outbound.parse_count`).
"""

from __future__ import annotations

from shared.formats.anthropic.inbound import parse_request, render_error, render_result
from shared.formats.anthropic.outbound import build_request, classify_error, parse_result, passthrough_request
from shared.formats.anthropic.parse_stream import stream_parser
from shared.formats.anthropic.render_stream import stream_renderer
from shared.formats.base import Dialect

__all__ = ["DIALECT"]

DIALECT = Dialect(
    name="anthropic",
    framing="sse",
    stream_media_type="text/event-stream",
    carries=frozenset(
        {
            "thinking",
            "thinking_signature",
            "redacted_thinking",
            "tool_call_ids",
            "result_id",
            "cached_tokens",
            "cache_creation_tokens",
            "reasoning_tokens",
            "stop_sequence",
        }
    ),
    # content_filter has no Anthropic reason but refusal; "error" is not a stop reason Anthropic knows.
    stop_collapse={"content_filter": "refusal", "error": "end"},
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
