"""Ollama chat, provider side: build the upstream request, read the answer, classify errors.

Ollama has no tool choice: "auto" is what it does, "none" is honoured by not offering the tools,
and forcing a call ("required" or a named tool) is a 400. `stream` is always sent, since Ollama
streams when it is absent. An answer has no id (the result id stays empty) and its tool calls
carry ids only from Ollama 0.12.10 on (older answers get deterministic ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest, Text, Thinking, ToolCall
from shared.canonical.errors import BadRequest, GatewayError, UpstreamError
from shared.canonical.result import ChatResult, OutputPart
from shared.formats.base import BuildOptions, UpstreamCall
from shared.formats.ollama.messages import build_messages
from shared.formats.ollama.options import options_body, tools_body
from shared.formats.ollama.usage import parse_usage, stop_reason
from shared.formats.ollama.wire import parse_created, result_call
from shared.formats.upstream_errors import classify, clean_message

__all__ = ["build_request", "classify_error", "parse_result", "passthrough_request", "upstream_message"]

PATH = "/api/chat"


def _tools(request: ChatRequest) -> list[dict[str, Any]]:
    choice = request.tool_choice
    if choice is not None and choice.mode in ("required", "tool"):
        what = f"forcing the tool '{choice.name}'" if choice.mode == "tool" else "tool_choice 'required'"
        raise BadRequest(f"{what} is not supported by ollama (it always lets the model choose)", param="tool_choice")
    if choice is not None and choice.mode == "none":
        return []
    return tools_body(request.tools)


def build_request(request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    body: dict[str, Any] = {"model": options.model, "messages": build_messages(request)}
    tools = _tools(request)
    if tools:
        body["tools"] = tools
    body.update(options_body(request))
    body["stream"] = request.stream
    return UpstreamCall(PATH, jsonx.dumps(body), stream=request.stream)


def passthrough_request(body: dict[str, Any], request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    """The client's own body with only the model swapped (a missing `stream` still means a stream)."""
    outgoing = dict(body)
    outgoing["model"] = options.model
    return UpstreamCall(PATH, jsonx.dumps(outgoing), stream=request.stream)


def message_parts(message: dict[str, Any], model: str) -> tuple[OutputPart, ...]:
    parts: list[OutputPart] = []
    thinking = message.get("thinking")
    if isinstance(thinking, str) and thinking:
        parts.append(Thinking(text=thinking))
    content = message.get("content")
    if isinstance(content, str) and content:
        parts.append(Text(content))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        parts.extend(result_call(call, model, position) for position, call in enumerate(calls))
    return tuple(parts)


def parse_result(raw: bytes) -> ChatResult:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        body = None
    if isinstance(body, dict) and "error" in body and "message" not in body:
        message = clean_message(body.get("error")) or "The upstream provider reported an error."
        raise UpstreamError(message, code="upstream_error")
    if not isinstance(body, dict) or not isinstance(body.get("message", {}), dict):
        raise UpstreamError("The upstream answer was not an Ollama chat response.", code="upstream_bad_response")
    model = str(body.get("model") or "")
    parts = message_parts(body.get("message") or {}, model)
    return ChatResult(
        id="",
        model=model,
        created=parse_created(body.get("created_at")),
        content=parts,
        stop_reason=stop_reason(body.get("done_reason"), any(isinstance(p, ToolCall) for p in parts)),
        usage=parse_usage(body),
    )


def upstream_message(raw: bytes) -> str | None:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # OpenAI-shaped errors from proxies in front of Ollama
        error = error.get("message")
    return clean_message(error)


def classify_error(status: int, headers: Mapping[str, str], raw: bytes) -> GatewayError:
    return classify(status, headers, upstream_message(raw))
