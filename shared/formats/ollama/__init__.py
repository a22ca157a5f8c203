"""Ollama chat (`POST /api/chat`, NDJSON streams)."""

from __future__ import annotations

from shared.formats.base import Dialect
from shared.formats.ollama.inbound import parse_request, render_error, render_result
from shared.formats.ollama.outbound import build_request, classify_error, parse_result, passthrough_request
from shared.formats.ollama.parse_stream import stream_parser
from shared.formats.ollama.render_stream import stream_renderer

__all__ = ["DIALECT"]

# Ollama answers have no id; created_at is kept to the second. Tool call ids travel as `id` (Ollama
# 0.12.10 on). Its done reasons are only "stop" and "length": a tool-calling stop is read back as
# tool_use only when calls are present, and every other reason reads back as "end".
DIALECT = Dialect(
    name="ollama",
    framing="ndjson",
    stream_media_type="application/x-ndjson",
    carries=frozenset({"thinking", "tool_call_ids", "created"}),
    stop_collapse={
        "stop_sequence": "end",
        "content_filter": "end",
        "refusal": "end",
        "pause": "end",
        "error": "end",
        "tool_use": "end",
    },
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
