"""Ollama chat (`POST /api/chat`), client side: parse a request, render a result, an error or the model list.

`stream` defaults to true in Ollama when absent (the official SDK always sends it). `keep_alive`
only tells a local server how long to keep the model loaded, so a translated request leaves it
behind; `logprobs` / `top_logprobs` and fields Ollama does not define are unsupported.
"""

from __future__ import annotations

import hashlib
from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest, Text, Thinking
from shared.canonical.errors import BadRequest, GatewayError
from shared.canonical.result import ChatResult
from shared.formats.base import ParsedRequest, RequestContext
from shared.formats.common import decode_body, optional_bool, require
from shared.formats.ollama.messages import parse_messages
from shared.formats.ollama.options import parse_format, parse_options, parse_think, parse_tools
from shared.formats.ollama.usage import done_reason, usage_fields
from shared.formats.ollama.wire import call_body, format_created

__all__ = ["error_body", "message_body", "parse_request", "render_error", "render_result", "render_tags"]

_KNOWN = {"model", "messages", "tools", "format", "options", "stream", "think", "keep_alive"}
_TAGS_MODIFIED_AT = "2025-01-01T00:00:00Z"


def _unsupported_fields(body: dict[str, Any]) -> set[str]:
    found = set()
    for name, value in body.items():
        if name in _KNOWN or value is None:
            continue
        if name in ("logprobs", "top_logprobs") and value in (False, 0):
            continue
        found.add(f"'{name}'")
    return found


def parse_request(raw: bytes, context: RequestContext) -> ParsedRequest:
    body = decode_body(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("'model' is a required string property", param="model", code="missing_required_parameter")
    unsupported: set[str] = set()
    messages = parse_messages(body.get("messages"), unsupported)
    stream = optional_bool(body, "stream")
    keep_alive = body.get("keep_alive")
    ok = keep_alive is None or (isinstance(keep_alive, str | int | float) and not isinstance(keep_alive, bool))
    require(ok, "'keep_alive' must be a duration string or a number of seconds", "keep_alive")
    request = ChatRequest(
        model=model.strip(),
        messages=messages,
        stream=True if stream is None else stream,
        tools=parse_tools(body.get("tools")),
        response_format=parse_format(body.get("format")),
        reasoning=parse_think(body.get("think")),
        dialect="ollama",
        **parse_options(body.get("options"), unsupported),
        unsupported=tuple(sorted(unsupported | _unsupported_fields(body))),
    )
    return ParsedRequest(request=request, body=body)


def message_body(result: ChatResult) -> dict[str, Any]:
    """The assistant message of a result: content, then thinking and tool calls when present."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(p.text for p in result.content if isinstance(p, Text)),
    }
    thinking = "".join(p.text for p in result.content if isinstance(p, Thinking))
    if thinking:
        message["thinking"] = thinking
    if result.tool_calls:
        message["tool_calls"] = [call_body(call, position) for position, call in enumerate(result.tool_calls)]
    return message


def render_result(result: ChatResult, request: ChatRequest) -> bytes:
    return jsonx.dumps(
        {
            "model": result.model or request.model,
            "created_at": format_created(result.created),
            "message": message_body(result),
            "done_reason": done_reason(result.stop_reason),
            "done": True,
            **usage_fields(result.usage),
        }
    )


def error_body(error: GatewayError) -> dict[str, Any]:
    return {"error": error.message}


def render_error(error: GatewayError) -> bytes:
    return jsonx.dumps(error_body(error))


def render_tags(models: list[tuple[str, str]]) -> bytes:
    """`GET /api/tags`: the gateway's models as Ollama lists local ones (`(model id, owner)` pairs)."""
    listed = [
        {
            "name": ident,
            "model": ident,
            "modified_at": _TAGS_MODIFIED_AT,
            "size": 0,
            "digest": hashlib.sha256(ident.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "",
                "family": owner,
                "families": [owner] if owner else [],
                "parameter_size": "",
                "quantization_level": "",
            },
        }
        for ident, owner in models
    ]
    return jsonx.dumps({"models": listed})
