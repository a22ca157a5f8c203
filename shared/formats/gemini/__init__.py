"""Google Gemini generateContent (Generative Language API, `/v1beta/models/{model}:generateContent`)."""

from __future__ import annotations

from shared.formats.base import Dialect
from shared.formats.gemini.inbound import parse_request, render_error, render_result
from shared.formats.gemini.outbound import build_request, classify_error, parse_result, passthrough_request
from shared.formats.gemini.parse_stream import stream_parser
from shared.formats.gemini.render_stream import stream_renderer

__all__ = ["DIALECT"]

DIALECT = Dialect(
    name="gemini",
    framing="sse",
    stream_media_type="text/event-stream",
    # No creation time, no cache-write count, no matched stop sequence, no redacted thinking.
    carries=frozenset(
        {
            "thinking",
            "thinking_signature",
            "tool_signature",
            "tool_call_ids",
            "result_id",
            "cached_tokens",
            "reasoning_tokens",
        }
    ),
    # STOP covers a natural end, a stop sequence and a pause; SAFETY covers refusals.
    stop_collapse={"stop_sequence": "end", "pause": "end", "refusal": "content_filter"},
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
