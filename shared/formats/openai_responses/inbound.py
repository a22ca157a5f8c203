"""OpenAI Responses (`POST /v1/responses`), client side: parse a request, render a result or an error.

`instructions` becomes a system message ahead of the input. State kept by OpenAI
(`previous_response_id`, `conversation`, stored prompts, item references) and built-in tools
cannot be translated for another provider: they are recorded in `ChatRequest.unsupported`, as
is any field this module does not know. Errors use OpenAI's shape (shared with Chat Completions).
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import BadRequest, GatewayError
from shared.canonical.result import ChatResult
from shared.formats.base import ParsedRequest, RequestContext
from shared.formats.common import (
    decode_body,
    optional_bool,
    optional_int,
    optional_number,
    optional_str,
    require,
)
from shared.formats.openai_chat.inbound import error_body
from shared.formats.openai_responses.inputs import parse_input
from shared.formats.openai_responses.options import parse_options
from shared.formats.openai_responses.output import output_items, response_object
from shared.formats.openai_responses.usage import status_for

__all__ = ["parse_request", "render_error", "render_result"]

_CARRIED = {
    "model",
    "input",
    "instructions",
    "stream",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "text",
    "reasoning",
    "max_output_tokens",
    "temperature",
    "top_p",
    "user",
    "metadata",
    "service_tier",
    "prompt_cache_key",
}
# Fields that change nothing in the answer itself: accepted and left behind when translating.
_HARMLESS = {"store", "stream_options", "safety_identifier", "prompt_cache_retention", "max_tool_calls"}
# OpenAI-side state the gateway cannot carry to another provider.
_STATE = ("previous_response_id", "conversation", "prompt")
_ENCRYPTED_REASONING = "reasoning.encrypted_content"


def _unsupported_fields(body: dict[str, Any]) -> set[str]:
    found = {f"'{name}' (state stored by OpenAI)" for name in _STATE if body.get(name) is not None}
    if body.get("background") not in (None, False):
        found.add("'background'")
    if body.get("truncation") not in (None, "disabled"):
        found.add("'truncation'")
    if body.get("top_logprobs") not in (None, 0):
        found.add("'top_logprobs'")
    include = body.get("include")
    require(include is None or isinstance(include, list), "'include' must be an array", "include")
    found.update(f"include '{value}'" for value in include or () if value != _ENCRYPTED_REASONING)
    known = _CARRIED | _HARMLESS | set(_STATE) | {"background", "truncation", "top_logprobs", "include"}
    found.update(f"'{name}'" for name in body if name not in known)
    return found


def _messages(body: dict[str, Any], unsupported: set[str]) -> tuple[Message, ...]:
    messages: list[Message] = []
    instructions = optional_str(body, "instructions")
    if instructions:
        messages.append(Message("system", (Text(instructions),)))
    if body.get("input") is not None:
        messages.extend(parse_input(body["input"], unsupported))
    elif not any(body.get(name) is not None for name in _STATE):
        raise BadRequest("'input' is a required property", param="input", code="missing_required_parameter")
    return tuple(messages)


def parse_request(raw: bytes, context: RequestContext) -> ParsedRequest:
    body = decode_body(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("'model' is a required string property", param="model", code="missing_required_parameter")
    unsupported = _unsupported_fields(body)
    messages = _messages(body, unsupported)
    metadata = body.get("metadata")
    require(metadata is None or isinstance(metadata, dict), "'metadata' must be an object", "metadata")
    optional_bool(body, "store")
    options = body.get("stream_options")
    require(options is None or isinstance(options, dict), "'stream_options' must be an object", "stream_options")
    carried = parse_options(body, unsupported)
    request = ChatRequest(
        model=model.strip(),
        messages=messages,
        stream=optional_bool(body, "stream") or False,
        parallel_tool_calls=optional_bool(body, "parallel_tool_calls"),
        max_tokens=optional_int(body, "max_output_tokens", low=1),
        temperature=optional_number(body, "temperature", 0, 2),
        top_p=optional_number(body, "top_p", 0, 1),
        user=optional_str(body, "user"),
        metadata=metadata,
        service_tier=optional_str(body, "service_tier"),
        prompt_cache_key=optional_str(body, "prompt_cache_key"),
        dialect="openai_responses",
        unsupported=tuple(sorted(unsupported)),
        **carried,
    )
    return ParsedRequest(request=request, body=body)


def render_result(result: ChatResult, request: ChatRequest) -> bytes:
    status, incomplete = status_for(result.stop_reason)
    return jsonx.dumps(
        response_object(
            ident=result.id,
            model=result.model,
            created=result.created,
            request=request,
            status=status,
            output=output_items(result.content, result.id),
            usage=result.usage,
            incomplete=incomplete,
        )
    )


def render_error(error: GatewayError) -> bytes:
    return jsonx.dumps(error_body(error))
