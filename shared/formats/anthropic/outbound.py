"""Anthropic Messages, provider side: build `POST /v1/messages`, read the answer, classify errors.

Base URLs follow the SDK convention (no `/v1` in the base), so paths carry it. The request takes
the client's `anthropic-version` (else 2023-06-01) and `anthropic-beta` when it sent them.

What Anthropic cannot take is refused with a 400 naming it: a temperature above 1, an inline image
of another type than JPEG/PNG/GIF/WebP, JSON mode without a schema. What it has no field for and
that only tunes sampling (seed, presence/frequency penalties) or caching (prompt_cache_key) is not
sent. Thinking without a signature (another provider's reasoning) is not sent back either:
Anthropic verifies every thinking block it receives, so an unsigned one would fail the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, Message, Part, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest, GatewayError, UpstreamError
from shared.canonical.result import ChatResult, OutputPart
from shared.formats.anthropic.blocks import output_block
from shared.formats.anthropic.options import options_body
from shared.formats.anthropic.usage import STOP_REASONS, parse_usage
from shared.formats.base import BuildOptions, UpstreamCall
from shared.formats.common import arguments_text
from shared.formats.upstream_errors import classify, clean_message

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_VERSION",
    "build_request",
    "classify_error",
    "count_tokens_request",
    "parse_count",
    "parse_result",
    "passthrough_request",
    "upstream_message",
]

_PATH = "/v1/messages"
_COUNT_PATH = "/v1/messages/count_tokens"
DEFAULT_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_MIN_BUDGET = 1024
_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_SERVICE_TIERS = {"auto": "auto", "standard_only": "standard_only", "default": "standard_only"}
# What /v1/messages/count_tokens does not take of a /v1/messages body.
_NOT_COUNTED = ("max_tokens", "stream", "metadata", "service_tier", "stop_sequences", "temperature", "top_p", "top_k")


def _headers(request: ChatRequest) -> tuple[tuple[str, str], ...]:
    given = {name.lower(): value for name, value in request.client_headers}
    headers = [("anthropic-version", given.get("anthropic-version") or DEFAULT_VERSION)]
    if given.get("anthropic-beta"):
        headers.append(("anthropic-beta", given["anthropic-beta"]))
    return tuple(headers)


def _image(image: Image) -> dict[str, Any]:
    if image.data is None:
        return {"type": "image", "source": {"type": "url", "url": image.url or ""}}
    media_type = image.media_type or "image/png"
    if media_type not in _MEDIA_TYPES:
        raise BadRequest(
            f"Images of type '{media_type}' are not supported by anthropic (JPEG, PNG, GIF and WebP are).",
            param="messages",
        )
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": image.data}}


def _input_blocks(parts: tuple[Part, ...] | tuple[Text | Image, ...]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Text) and part.text:
            blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, Image):
            blocks.append(_image(part))
    return blocks


def _tool_result(part: ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.tool_call_id}
    if len(part.content) == 1 and isinstance(part.content[0], Text):
        block["content"] = part.content[0].text
    elif part.content:
        block["content"] = _input_blocks(part.content)
    if part.is_error:
        block["is_error"] = True
    return block


def _assistant(message: Message) -> list[dict[str, Any]]:
    blocks = []
    for part in message.content:
        if isinstance(part, Thinking) and not (part.signature or part.redacted):
            continue  # unverifiable by Anthropic: see the module docstring
        if isinstance(part, Text) and not part.text:
            continue
        block = output_block(part) if isinstance(part, Text | Thinking | ToolCall) else None
        if block is not None:
            blocks.append(block)
    return blocks


def _messages(request: ChatRequest) -> list[dict[str, Any]]:
    """Anthropic turns; tool results share one user turn with the user text that follows them."""
    out: list[dict[str, Any]] = []
    after_results = False
    for message in request.messages:
        if message.role in ("system", "developer"):
            continue
        if message.role == "assistant":
            blocks = _assistant(message)
            if blocks:
                out.append({"role": "assistant", "content": blocks})
            after_results = False
            continue
        if message.role == "tool":
            blocks = [_tool_result(p) for p in message.content if isinstance(p, ToolResult)]
        elif len(message.content) == 1 and isinstance(message.content[0], Text) and not after_results:
            blocks = [{"type": "text", "text": message.content[0].text}]
        else:
            blocks = _input_blocks(message.content)
        if after_results:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": "user", "content": blocks})
        after_results = message.role == "tool"
    for turn in out:  # a lone text block is sent as the plain string the SDKs send
        content = turn["content"]
        if turn["role"] == "user" and len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return out


def _fit_budget(body: dict[str, Any], asked_max_tokens: int | None) -> None:
    """Anthropic wants budget_tokens < max_tokens: raise a default max_tokens, else lower the budget."""
    thinking = body.get("thinking")
    if not thinking or thinking.get("type") != "enabled" or thinking["budget_tokens"] < body["max_tokens"]:
        return
    if asked_max_tokens is None:
        body["max_tokens"] = thinking["budget_tokens"] + DEFAULT_MAX_TOKENS
    else:
        thinking["budget_tokens"] = max(_MIN_BUDGET, body["max_tokens"] - 1)


def _sampling(request: ChatRequest, body: dict[str, Any]) -> None:
    if request.temperature is not None:
        if request.temperature > 1:
            raise BadRequest("A temperature above 1 is not supported by anthropic (0 to 1).", param="temperature")
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.top_k is not None:
        body["top_k"] = request.top_k
    if request.user:
        body["metadata"] = {"user_id": request.user}
    tier = _SERVICE_TIERS.get(request.service_tier or "")
    if tier:
        body["service_tier"] = tier


def request_body(request: ChatRequest, options: BuildOptions, counting: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": options.model,
        "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": _messages(request),
    }
    system = request.system_text
    if system:
        body["system"] = system
    _sampling(request, body)
    body.update(options_body(request))
    if counting:
        for name in _NOT_COUNTED:
            body.pop(name, None)
        return body
    _fit_budget(body, request.max_tokens)
    if request.stream:
        body["stream"] = True
    return body


def build_request(request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    body = request_body(request, options)
    return UpstreamCall(_PATH, jsonx.dumps(body), headers=_headers(request), stream=request.stream)


def passthrough_request(body: dict[str, Any], request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    """The client's own body (cache_control markers, betas' fields and all), only the model swapped."""
    outgoing = dict(body)
    outgoing["model"] = options.model
    return UpstreamCall(_PATH, jsonx.dumps(outgoing), headers=_headers(request), stream=request.stream)


def count_tokens_request(request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    """`POST /v1/messages/count_tokens` for the same conversation (no max_tokens, stream or sampling)."""
    body = request_body(request, options, counting=True)
    return UpstreamCall(_COUNT_PATH, jsonx.dumps(body), headers=_headers(request))


def parse_count(raw: bytes) -> int:
    try:
        tokens = jsonx.loads(raw).get("input_tokens")
    except (jsonx.JSONDecodeError, AttributeError):
        tokens = None
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        raise UpstreamError("The upstream answer was not a token count.", code="upstream_bad_response")
    return tokens


def _output_part(block: Any) -> OutputPart | None:
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "text":
        return Text(str(block.get("text") or ""))
    if kind == "thinking":
        return Thinking(text=str(block.get("thinking") or ""), signature=block.get("signature") or None)
    if kind == "redacted_thinking":
        return Thinking(redacted=str(block.get("data") or ""))
    if kind == "tool_use":
        ident, name = str(block.get("id") or ""), str(block.get("name") or "")
        return ToolCall(id=ident, name=name, arguments=arguments_text(block.get("input")))
    return None  # server tool blocks, and whatever a later API version adds


def parse_result(raw: bytes) -> ChatResult:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise UpstreamError("The upstream answer was not an Anthropic message.", code="upstream_bad_response")
    stop_sequence = body.get("stop_sequence")
    return ChatResult(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        content=tuple(p for p in (_output_part(block) for block in body["content"]) if p is not None),
        stop_reason=STOP_REASONS.get(str(body.get("stop_reason")), "end"),
        stop_sequence=stop_sequence if isinstance(stop_sequence, str) else None,
        usage=parse_usage(body.get("usage")),
    )


def _error(raw: bytes) -> dict[str, Any]:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def upstream_message(raw: bytes) -> str | None:
    return clean_message(_error(raw).get("message"))


def classify_error(status: int, headers: Mapping[str, str], raw: bytes) -> GatewayError:
    if status == 529 or (status >= 500 and _error(raw).get("type") == "overloaded_error"):
        return UpstreamError("The upstream provider is overloaded (HTTP 529).", code="upstream_overloaded")
    return classify(status, headers, upstream_message(raw))
