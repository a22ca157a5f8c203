"""Gemini generateContent, provider side: build the upstream request, read the answer, classify errors.

Paths are relative to a base URL without the version (`https://generativelanguage.googleapis.com`,
as the google-genai SDK has it): `/v1beta/models/{model}:generateContent`, or
`:streamGenerateContent?alt=sse` for a stream, and `:countTokens` for a token count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import GatewayError, UpstreamError, UpstreamTimeout
from shared.canonical.events import fold
from shared.canonical.result import ChatResult
from shared.formats.base import BuildOptions, UpstreamCall
from shared.formats.gemini.history import contents
from shared.formats.gemini.options import generation_config, tool_body
from shared.formats.gemini.parse_stream import GeminiStreamParser, upstream_message
from shared.formats.gemini.wire import camel, method_path
from shared.formats.upstream_errors import classify, retry_after_seconds

__all__ = [
    "build_request",
    "classify_error",
    "count_tokens_request",
    "parse_count",
    "parse_result",
    "passthrough_request",
]

_AUTH_REASONS = {"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "ACCESS_TOKEN_EXPIRED"}


def _body(request: ChatRequest, options: BuildOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": contents(request, options.echo_reasoning)}
    system = request.system_text
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    body.update(tool_body(request))
    config = generation_config(request, options.model)
    if config:
        body["generationConfig"] = config
    return body


def _path(model: str, stream: bool) -> str:
    return method_path(model, "streamGenerateContent" if stream else "generateContent")


def build_request(request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    body = _body(request, options)
    return UpstreamCall(_path(options.model, request.stream), jsonx.dumps(body), stream=request.stream)


def passthrough_request(body: dict[str, Any], request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    """The client's own body, unchanged: the model lives in the path, which names the upstream model."""
    return UpstreamCall(_path(options.model, request.stream), jsonx.dumps(body), stream=request.stream)


def count_tokens_request(request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    """`:countTokens` takes bare `contents`, or a whole `generateContentRequest` when there is more to count."""
    body = _body(request, options)
    if set(body) != {"contents"}:
        body = {"generateContentRequest": {"model": f"models/{options.model.removeprefix('models/')}", **body}}
    return UpstreamCall(method_path(options.model, "countTokens"), jsonx.dumps(body))


def parse_count(raw: bytes) -> int:
    """`{"totalTokens": N}` (absent when zero, as proto3 JSON omits default values)."""
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        body = None
    total = body.get("totalTokens", 0) if isinstance(body, dict) and "error" not in body else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise UpstreamError("The upstream answer was not a token count.", code="upstream_bad_response")
    return total


def parse_result(raw: bytes) -> ChatResult:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise UpstreamError("The upstream answer was not a Gemini response.", code="upstream_bad_response")
    body = camel(body)
    if "error" in body and "candidates" not in body:
        message = upstream_message(body) or "The upstream provider reported an error."
        raise UpstreamError(message, code="upstream_error")
    if not isinstance(body.get("candidates"), list) and not isinstance(body.get("promptFeedback"), dict):
        raise UpstreamError("The upstream answer was not a Gemini response.", code="upstream_bad_response")
    parser = GeminiStreamParser()
    return fold(parser.chunk(body) + parser.finish(require_finish=False))


def _details(body: Any) -> list[dict[str, Any]]:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _retry_delay(details: list[dict[str, Any]]) -> float | None:
    """`RetryInfo.retryDelay` ("34s", "1.5s"), which Gemini sends with RESOURCE_EXHAUSTED."""
    for detail in details:
        delay = detail.get("retryDelay")
        if str(detail.get("@type", "")).endswith("RetryInfo") and isinstance(delay, str) and delay.endswith("s"):
            try:
                seconds = float(delay[:-1])
            except ValueError:
                return None
            return max(0.0, seconds) if math.isfinite(seconds) else None
    return None


def classify_error(status: int, headers: Mapping[str, str], raw: bytes) -> GatewayError:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    grpc_status = error.get("status") if isinstance(error, dict) else None
    details = _details(body)
    if status == 400 and (grpc_status == "UNAUTHENTICATED" or any(d.get("reason") in _AUTH_REASONS for d in details)):
        status = 401  # Gemini refuses a bad API key with 400 INVALID_ARGUMENT / API_KEY_INVALID
    if status == 504 or grpc_status == "DEADLINE_EXCEEDED":
        return UpstreamTimeout("The upstream provider timed out.")
    if status == 429 and retry_after_seconds(headers) is None:
        delay = _retry_delay(details)
        if delay is not None:
            headers = {"retry-after": f"{delay:g}"}
    return classify(status, headers, upstream_message(body))
