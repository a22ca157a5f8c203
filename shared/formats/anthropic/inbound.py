"""Anthropic Messages, client side: parse `POST /v1/messages` (and `/v1/messages/count_tokens`), render a
message, an error or a token count.

`max_tokens` is required, as Anthropic requires it. Fields the canonical request cannot hold go
to `ChatRequest.unsupported` (a 400 when translating, harmless when the upstream speaks Anthropic
and receives the client's own body). Prompt-caching markers (`cache_control`, top level or on a
block) are hints, not content: a translation may drop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import BadRequest, GatewayError
from shared.canonical.result import ChatResult
from shared.formats.anthropic.blocks import output_block
from shared.formats.anthropic.content import parse_messages, parse_system
from shared.formats.anthropic.options import parse_options
from shared.formats.anthropic.usage import STOP_REASON_NAMES, usage_body
from shared.formats.base import ParsedRequest, RequestContext
from shared.formats.common import decode_body, optional_bool, optional_int, optional_number, optional_str, require

__all__ = [
    "CLIENT_HEADERS",
    "error_body",
    "error_type",
    "message_body",
    "parse_count_request",
    "parse_request",
    "render_count",
    "render_error",
    "render_result",
]

CLIENT_HEADERS = ("anthropic-version", "anthropic-beta")
_FIELDS = {
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "output_format",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "metadata",
    "stream",
    "service_tier",
    "cache_control",  # automatic prompt caching: a hint
}
_ERROR_TYPES = {
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _client_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    lowered = {name.lower(): value for name, value in headers.items()}
    return tuple((name, lowered[name]) for name in CLIENT_HEADERS if lowered.get(name))


def _user(body: dict[str, Any], unsupported: set[str]) -> str | None:
    metadata = body.get("metadata")
    if metadata is None:
        return None
    require(isinstance(metadata, dict), "'metadata' must be an object", "metadata")
    unsupported.update(f"'metadata.{key}'" for key in metadata if key != "user_id")
    return optional_str(metadata, "user_id", "metadata.user_id")


def _max_tokens(body: dict[str, Any], unsupported: set[str]) -> int:
    if body.get("max_tokens") is None:
        raise BadRequest("'max_tokens' is a required property", param="max_tokens", code="missing_required_parameter")
    value = optional_int(body, "max_tokens", low=0)
    if value == 0:
        unsupported.add("'max_tokens' of 0 (cache pre-warming)")
    return int(value or 0)


def _parse(raw: bytes, context: RequestContext, counting: bool) -> ParsedRequest:
    body = decode_body(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("'model' is a required string property", param="model", code="missing_required_parameter")
    unsupported: set[str] = set()
    max_tokens = None if counting else _max_tokens(body, unsupported)
    system = parse_system(body.get("system"), unsupported)
    messages = parse_messages(body.get("messages"), unsupported)
    options = parse_options(body, unsupported)
    user = _user(body, unsupported)
    unsupported.update(f"'{name}'" for name in body if name not in _FIELDS)
    request = ChatRequest(
        model=model.strip(),
        messages=((system,) if system else ()) + messages,
        stream=optional_bool(body, "stream") or False,
        max_tokens=max_tokens,
        temperature=optional_number(body, "temperature", 0, 1),
        top_p=optional_number(body, "top_p", 0, 1),
        top_k=optional_int(body, "top_k", low=0),
        user=user,
        service_tier=optional_str(body, "service_tier"),
        dialect="anthropic",
        unsupported=tuple(sorted(unsupported)),
        client_headers=_client_headers(context.headers),
        **options,
    )
    return ParsedRequest(request=request, body=body)


def parse_request(raw: bytes, context: RequestContext) -> ParsedRequest:
    """`POST /v1/messages`."""
    return _parse(raw, context, counting=False)


def parse_count_request(raw: bytes, context: RequestContext) -> ParsedRequest:
    """`POST /v1/messages/count_tokens`: the same conversation, without max_tokens (nothing is generated)."""
    return _parse(raw, context, counting=True)


def message_body(result: ChatResult) -> dict[str, Any]:
    blocks = [output_block(part) for part in result.content]
    return {
        "id": result.id,
        "type": "message",
        "role": "assistant",
        "model": result.model,
        "content": [block for block in blocks if block is not None],
        "stop_reason": STOP_REASON_NAMES[result.stop_reason],
        "stop_sequence": result.stop_sequence,
        "usage": usage_body(result.usage),
    }


def render_result(result: ChatResult, request: ChatRequest) -> bytes:
    return jsonx.dumps(message_body(result))


def error_type(error: GatewayError) -> str:
    if error.status in _ERROR_TYPES:
        return _ERROR_TYPES[error.status]
    return "invalid_request_error" if 400 <= error.status < 500 else "api_error"


def error_body(error: GatewayError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(error), "message": error.message}}


def render_error(error: GatewayError) -> bytes:
    return jsonx.dumps(error_body(error))


def render_count(tokens: int) -> bytes:
    """The answer to `POST /v1/messages/count_tokens`."""
    return jsonx.dumps({"input_tokens": tokens})
