"""OpenAI Responses, provider side: build the upstream request, read the answer, classify errors.

Requests are stateless (`store: false`): the gateway never refers back to a stored response, and
reasoning is carried from turn to turn by `encrypted_content`, asked for whenever reasoning is.
Stop sequences have no equivalent in this API: a request with them is refused rather than
answered past the point where the client wanted the model to stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import BadRequest, GatewayError, UpstreamError
from shared.canonical.result import ChatResult
from shared.formats.base import BuildOptions, UpstreamCall
from shared.formats.openai_responses.history import PROVIDER, input_items
from shared.formats.openai_responses.options import options_body
from shared.formats.openai_responses.output import parse_output
from shared.formats.openai_responses.usage import parse_usage, stop_reason
from shared.formats.upstream_errors import classify, clean_message

__all__ = ["build_request", "classify_error", "parse_result", "passthrough_request", "upstream_message"]

_PATH = "/responses"
_ENCRYPTED_REASONING = "reasoning.encrypted_content"


def build_request(request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    if request.stop:
        raise BadRequest(f"Stop sequences are not supported by {PROVIDER}.", param="stop")
    body: dict[str, Any] = {"model": options.model, "input": input_items(request, options.echo_reasoning)}
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    for name in ("temperature", "top_p", "user", "service_tier", "prompt_cache_key"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.metadata:
        body["metadata"] = request.metadata
    body.update(options_body(request))
    reasoning = body.get("reasoning")
    if reasoning is not None and reasoning.get("effort") != "none":
        body["include"] = [_ENCRYPTED_REASONING]  # reasoning carried to the next turn without stored state
    body["store"] = False
    if request.stream:
        body["stream"] = True
    return UpstreamCall(_PATH, jsonx.dumps(body), stream=request.stream)


def passthrough_request(body: dict[str, Any], request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    """The client's own body with only the model swapped (usage always comes with the final event)."""
    outgoing = dict(body)
    outgoing["model"] = options.model
    return UpstreamCall(_PATH, jsonx.dumps(outgoing), stream=request.stream)


def _created(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def parse_result(raw: bytes) -> ChatResult:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("output"), list):
        raise UpstreamError("The upstream answer was not a Responses API response.", code="upstream_bad_response")
    if body.get("status") == "failed":
        error = body.get("error")
        message = clean_message(error.get("message") if isinstance(error, dict) else None)
        raise UpstreamError(message or "The upstream provider failed to generate a response.")
    parts, calls, refused = parse_output(body["output"])
    return ChatResult(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        created=_created(body.get("created_at")),
        content=tuple(parts),
        stop_reason=stop_reason(body, calls, refused),
        usage=parse_usage(body.get("usage")),
    )


def upstream_message(raw: bytes) -> str | None:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return clean_message(error.get("message") if isinstance(error, dict) else error)


def classify_error(status: int, headers: Mapping[str, str], raw: bytes) -> GatewayError:
    return classify(status, headers, upstream_message(raw))
