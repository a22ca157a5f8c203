"""OpenAI Chat Completions, provider side: build the upstream request, read the answer, classify errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, Message, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import GatewayError, UpstreamError
from shared.canonical.result import ChatResult, OutputPart
from shared.formats.base import BuildOptions, UpstreamCall
from shared.formats.common import image_url
from shared.formats.openai_chat.options import options_body
from shared.formats.openai_chat.usage import STOP_REASONS, parse_usage
from shared.formats.upstream_errors import classify, clean_message

__all__ = ["build_request", "classify_error", "parse_result", "passthrough_request"]

_PATH = "/chat/completions"


def _content(parts: tuple[Any, ...]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, Text) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, Text))
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Text):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, Image):
            image: dict[str, Any] = {"url": image_url(part)}
            if part.detail:
                image["detail"] = part.detail
            out.append({"type": "image_url", "image_url": image})
    return out


def _assistant(message: Message, echo_reasoning: bool) -> dict[str, Any]:
    texts = [p for p in message.content if isinstance(p, Text)]
    calls = [p for p in message.content if isinstance(p, ToolCall)]
    out: dict[str, Any] = {"role": "assistant", "content": "".join(t.text for t in texts) if texts else None}
    thinking = "".join(p.text for p in message.content if isinstance(p, Thinking))
    if echo_reasoning and thinking:
        out["reasoning_content"] = thinking
    if calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    if message.name:
        out["name"] = message.name
    return out


def _tool_messages(message: Message) -> list[dict[str, Any]]:
    """One OpenAI `tool` message per result; images a tool returned follow as a user message."""
    out: list[dict[str, Any]] = []
    images: list[Image] = []
    for part in message.content:
        if isinstance(part, ToolResult):
            text = "".join(p.text for p in part.content if isinstance(p, Text))
            images.extend(p for p in part.content if isinstance(p, Image))
            out.append({"role": "tool", "tool_call_id": part.tool_call_id, "content": text})
    if images:
        out.append({"role": "user", "content": _content(tuple(images))})
    return out


def _messages(request: ChatRequest, echo_reasoning: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "assistant":
            out.append(_assistant(message, echo_reasoning))
        elif message.role == "tool":
            out.extend(_tool_messages(message))
        else:
            role = "system" if message.role == "developer" else message.role
            entry: dict[str, Any] = {"role": role, "content": _content(message.content)}
            if message.name:
                entry["name"] = message.name
            out.append(entry)
    return out


def build_request(request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    body: dict[str, Any] = {"model": options.model, "messages": _messages(request, options.echo_reasoning)}
    for name in (
        "temperature",
        "top_p",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "user",
        "service_tier",
        "prompt_cache_key",
    ):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.metadata:
        body["metadata"] = request.metadata
    body.update(options_body(request))
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return UpstreamCall(_PATH, jsonx.dumps(body), stream=request.stream)


def passthrough_request(body: dict[str, Any], request: ChatRequest, options: BuildOptions) -> UpstreamCall:
    """The client's own body, apart from the model id and, when streaming, a request for usage."""
    outgoing = dict(body)
    outgoing["model"] = options.model
    if request.stream:
        stream_options = dict(outgoing.get("stream_options") or {})
        stream_options["include_usage"] = True  # metering needs the final usage chunk
        outgoing["stream_options"] = stream_options
    return UpstreamCall(_PATH, jsonx.dumps(outgoing), stream=request.stream)


def _parts(message: dict[str, Any]) -> tuple[OutputPart, ...]:
    parts: list[OutputPart] = []
    reasoning = message.get("reasoning_content", message.get("reasoning"))
    if isinstance(reasoning, str) and reasoning:
        parts.append(Thinking(text=reasoning))
    content = message.get("content")
    if isinstance(content, str) and content:
        parts.append(Text(content))
    elif isinstance(content, list):
        text = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if text:
            parts.append(Text(text))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        parts.append(
            ToolCall(
                id=str(call.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=function.get("arguments") or "{}",
            )
        )
    return tuple(parts)


def parse_result(raw: bytes) -> ChatResult:
    try:
        body = jsonx.loads(raw)
        choice = body["choices"][0]
        message = choice.get("message") or {}
    except (jsonx.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        raise UpstreamError("The upstream answer was not a chat completion.", code="upstream_bad_response") from None
    return ChatResult(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        created=body.get("created") if isinstance(body.get("created"), int) else 0,
        content=_parts(message),
        stop_reason=STOP_REASONS.get(str(choice.get("finish_reason")), "end"),
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
