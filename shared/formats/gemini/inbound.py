"""Gemini generateContent, client side: parse a request into the canonical form, render a result or error.

The model and the stream flag are not in the body but in the URL
(`/v1beta/models/{model}:generateContent` or `:streamGenerateContent`), given by the route as
`RequestContext.path_model` / `path_stream`.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import BadRequest, GatewayError
from shared.canonical.result import ChatResult
from shared.formats.base import ParsedRequest, RequestContext
from shared.formats.common import decode_body
from shared.formats.gemini.contents import parse_contents, parse_system
from shared.formats.gemini.history import model_parts
from shared.formats.gemini.options import parse_options
from shared.formats.gemini.usage import FINISH_REASONS, usage_body
from shared.formats.gemini.wire import camel, error_body

__all__ = ["parse_request", "render_error", "render_result", "response_body"]

_FIELDS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "model"}
# Policy hints with no equivalent elsewhere: kept when the body passes through to Gemini, dropped
# (not refused) when translating, as many clients send them by default.
_TOLERATED = {"safetySettings", "safety_settings"}


def _unsupported_fields(body: dict[str, Any]) -> set[str]:
    """Top-level fields the canonical request has no place for (fine when the body passes through)."""
    return {
        f"'{name}'"
        for name, value in body.items()
        if name not in _FIELDS and name not in _TOLERATED and value not in (None, [], {})
    }


def parse_request(raw: bytes, context: RequestContext) -> ParsedRequest:
    body = decode_body(raw)
    model = (context.path_model or "").strip().removeprefix("models/")
    if not model:
        raise BadRequest(
            "The model is named in the URL: /v1beta/models/{model}:generateContent.",
            param="model",
            code="missing_required_parameter",
        )
    fields = camel(body)
    unsupported = _unsupported_fields(fields)
    system = parse_system(fields.get("systemInstruction"), unsupported)
    messages = parse_contents(fields.get("contents"), unsupported)
    options = parse_options(fields, unsupported)
    request = ChatRequest(
        model=model,
        messages=((system,) if system else ()) + messages,
        stream=bool(context.path_stream),
        dialect="gemini",
        unsupported=tuple(sorted(unsupported)),
        **options,
    )
    return ParsedRequest(request=request, body=body)


def response_body(result: ChatResult) -> dict[str, Any]:
    """A `GenerateContentResponse`: one candidate, usage when the upstream reported it."""
    parts = model_parts(result.content, with_ids=True, echo_reasoning=True)
    candidate = {
        "content": {"parts": parts, "role": "model"},
        "finishReason": FINISH_REASONS[result.stop_reason],
        "index": 0,
    }
    body: dict[str, Any] = {"candidates": [candidate]}
    if result.usage.reported:
        body["usageMetadata"] = usage_body(result.usage)
    body["modelVersion"] = result.model
    body["responseId"] = result.id
    return body


def render_result(result: ChatResult, request: ChatRequest) -> bytes:
    return jsonx.dumps(response_body(result))


def render_error(error: GatewayError) -> bytes:
    return jsonx.dumps(error_body(error))
