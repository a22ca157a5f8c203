"""OpenAI Responses (`/v1/responses`)."""

from __future__ import annotations

from shared.formats.base import Dialect
from shared.formats.openai_responses.inbound import parse_request, render_error, render_result
from shared.formats.openai_responses.outbound import build_request, classify_error, parse_result, passthrough_request
from shared.formats.openai_responses.parse_stream import stream_parser
from shared.formats.openai_responses.render_stream import stream_renderer

__all__ = ["DIALECT"]

DIALECT = Dialect(
    name="openai_responses",
    framing="sse",
    stream_media_type="text/event-stream",
    # Reasoning summaries and encrypted reasoning (as an opaque thinking block); no per-block
    # signatures (reasoning item ids are not kept), no cache-write count, no stop sequences.
    carries=frozenset(
        {"thinking", "redacted_thinking", "tool_call_ids", "result_id", "created", "cached_tokens", "reasoning_tokens"}
    ),
    # Only incomplete(max_output_tokens | content_filter) and completed exist on the wire.
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
