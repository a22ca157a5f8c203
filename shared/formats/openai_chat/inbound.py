"""OpenAI Chat Completions, client side: parse a request into the canonical form, render a result or error."""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import (
    ChatRequest,
    Image,
    Message,
    Part,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from shared.canonical.errors import BadRequest, GatewayError
from shared.canonical.result import ChatResult
from shared.formats.base import ParsedRequest, RequestContext
from shared.formats.common import (
    decode_body,
    image_from_url,
    optional_bool,
    optional_int,
    optional_number,
    optional_str,
    require,
)
from shared.formats.openai_chat.options import parse_options
from shared.formats.openai_chat.usage import FINISH_REASONS, usage_body

__all__ = ["error_body", "parse_request", "render_error", "render_result"]

_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def _content_parts(content: Any, where: str, unsupported: set[str]) -> tuple[Text | Image, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (Text(content),)
    require(isinstance(content, list), f"'{where}' must be a string or an array of content parts", where)
    parts: list[Text | Image] = []
    for index, item in enumerate(content):
        path = f"{where}[{index}]"
        require(isinstance(item, dict), f"'{path}' must be an object", path)
        kind = item.get("type")
        if kind == "text":
            require(isinstance(item.get("text"), str), f"'{path}.text' must be a string", f"{path}.text")
            parts.append(Text(item["text"]))
        elif kind == "image_url":
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise BadRequest(f"'{path}.image_url.url' is required", param=f"{path}.image_url")
            detail = image.get("detail") if isinstance(image, dict) else None
            parts.append(image_from_url(url, detail if isinstance(detail, str) else None))
        elif isinstance(kind, str):
            unsupported.add(f"'{kind}' content parts")
        else:
            raise BadRequest(f"'{path}.type' is required", param=f"{path}.type")
    return tuple(parts)


def _tool_calls(calls: Any, where: str) -> list[ToolCall]:
    require(isinstance(calls, list), f"'{where}' must be an array", where)
    found: list[ToolCall] = []
    for index, call in enumerate(calls):
        path = f"{where}[{index}]"
        require(isinstance(call, dict), f"'{path}' must be an object", path)
        function = call.get("function")
        require(isinstance(function, dict), f"'{path}.function' is required", f"{path}.function")
        name = function.get("name")
        require(isinstance(name, str) and bool(name), f"'{path}.function.name' is required", f"{path}.function.name")
        arguments = function.get("arguments", "{}")
        require(isinstance(arguments, str), f"'{path}.function.arguments' must be a string", path)
        ident = call.get("id")
        require(isinstance(ident, str) and bool(ident), f"'{path}.id' is required", f"{path}.id")
        found.append(ToolCall(id=ident, name=name, arguments=arguments or "{}"))
    return found


def _assistant(message: dict[str, Any], where: str, unsupported: set[str]) -> tuple[Part, ...]:
    parts: list[Part] = []
    reasoning = message.get("reasoning_content", message.get("reasoning"))
    if isinstance(reasoning, str) and reasoning:
        parts.append(Thinking(text=reasoning))
    parts.extend(_content_parts(message.get("content"), f"{where}.content", unsupported))
    if message.get("tool_calls") is not None:
        parts.extend(_tool_calls(message["tool_calls"], f"{where}.tool_calls"))
    if message.get("function_call") is not None:
        unsupported.add("legacy function_call messages")
    return tuple(parts)


def _message(message: Any, index: int, unsupported: set[str]) -> Message:
    where = f"messages[{index}]"
    require(isinstance(message, dict), f"'{where}' must be an object", where)
    role = message.get("role")
    require(
        isinstance(role, str) and role in _ROLES, f"'{where}.role' must be one of {sorted(_ROLES)}", f"{where}.role"
    )
    name = message.get("name") if isinstance(message.get("name"), str) else None
    if role == "assistant":
        return Message("assistant", _assistant(message, where, unsupported), name)
    if role in ("tool", "function"):
        call_id = message.get("tool_call_id") or (message.get("name") if role == "function" else None)
        if not isinstance(call_id, str) or not call_id:
            raise BadRequest(f"'{where}.tool_call_id' is required", param=f"{where}.tool_call_id")
        content = _content_parts(message.get("content"), f"{where}.content", unsupported)
        return Message("tool", (ToolResult(tool_call_id=call_id, content=content),), name)
    require(message.get("content") is not None, f"'{where}.content' is required", f"{where}.content")
    return Message(role, _content_parts(message["content"], f"{where}.content", unsupported), name)


def parse_request(raw: bytes, context: RequestContext) -> ParsedRequest:
    body = decode_body(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("'model' is a required string property", param="model", code="missing_required_parameter")
    messages = body.get("messages")
    if messages is None:
        raise BadRequest("'messages' is a required property", param="messages", code="missing_required_parameter")
    require(isinstance(messages, list) and bool(messages), "'messages' must be a non-empty array", "messages")
    unsupported: set[str] = set()
    parsed = tuple(_message(m, i, unsupported) for i, m in enumerate(messages))
    stream = optional_bool(body, "stream") or False
    options = body.get("stream_options")
    require(options is None or isinstance(options, dict), "'stream_options' must be an object", "stream_options")
    n = optional_int(body, "n", low=1)
    if n is not None and n > 1:
        unsupported.add("n > 1")
    max_tokens = optional_int(body, "max_completion_tokens", low=1) or optional_int(body, "max_tokens", low=1)
    request = ChatRequest(
        model=model.strip(),
        messages=parsed,
        stream=stream,
        max_tokens=max_tokens,
        temperature=optional_number(body, "temperature", 0, 2),
        top_p=optional_number(body, "top_p", 0, 1),
        seed=optional_int(body, "seed"),
        presence_penalty=optional_number(body, "presence_penalty", -2, 2),
        frequency_penalty=optional_number(body, "frequency_penalty", -2, 2),
        user=optional_str(body, "user"),
        metadata=body.get("metadata") if isinstance(body.get("metadata"), dict) else None,
        service_tier=optional_str(body, "service_tier"),
        prompt_cache_key=optional_str(body, "prompt_cache_key"),
        wants_usage_in_stream=bool(options and options.get("include_usage") is True),
        dialect="openai_chat",
        unsupported=tuple(sorted(unsupported | _unsupported_fields(body))),
        **parse_options(body),
    )
    return ParsedRequest(request=request, body=body)


def _unsupported_fields(body: dict[str, Any]) -> set[str]:
    found = set()
    for name in ("audio", "modalities", "prediction", "web_search_options", "logprobs", "logit_bias"):
        if body.get(name) not in (None, False):
            found.add(f"'{name}'")
    return found


def _message_body(result: ChatResult) -> dict[str, Any]:
    text = result.text
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not result.tool_calls else None}
    reasoning = "".join(p.text for p in result.content if isinstance(p, Thinking))
    if reasoning:
        message["reasoning_content"] = reasoning
    if result.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls
        ]
    message["refusal"] = None
    return message


def render_result(result: ChatResult, request: ChatRequest) -> bytes:
    return jsonx.dumps(
        {
            "id": result.id,
            "object": "chat.completion",
            "created": result.created,
            "model": result.model,
            "choices": [
                {
                    "index": 0,
                    "message": _message_body(result),
                    "logprobs": None,
                    "finish_reason": FINISH_REASONS[result.stop_reason],
                }
            ],
            "usage": usage_body(result.usage),
        }
    )


def error_body(error: GatewayError) -> dict[str, Any]:
    return {"error": {"message": error.message, "type": error.kind, "param": error.param, "code": error.code}}


def render_error(error: GatewayError) -> bytes:
    return jsonx.dumps(error_body(error))
