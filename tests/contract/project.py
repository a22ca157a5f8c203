"""Comparing canonical values across dialects: keep only what both ends of a hop can carry."""

from __future__ import annotations

import importlib
from typing import Any

import msgspec

from shared.canonical.chat import ChatRequest, Image, Message, Part, Text, Thinking, ToolCall, ToolResult
from shared.canonical.result import ChatResult, OutputPart
from shared.canonical.usage import Usage
from shared.formats.base import Dialect


def _merge_text(parts: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].text + part.text)
        elif not (isinstance(part, Text) and part.text == ""):
            merged.append(part)
    return merged


def _json_text(arguments: str) -> str:
    """Tool arguments as compact JSON: wires that carry them as an object (Ollama) re-serialise them."""
    try:
        return msgspec.json.encode(msgspec.json.decode(arguments or "{}")).decode()
    except msgspec.DecodeError:
        return arguments


def _output_part(part: OutputPart, carries: frozenset[str]) -> OutputPart | None:
    if isinstance(part, Thinking):
        if "thinking" not in carries and not (part.redacted and "redacted_thinking" in carries):
            return None
        redacted = part.redacted if "redacted_thinking" in carries else None
        if not part.text and redacted is None:
            return None
        signature = part.signature if "thinking_signature" in carries else None
        return Thinking(text=part.text if "thinking" in carries else "", signature=signature, redacted=redacted)
    if isinstance(part, ToolCall):
        return ToolCall(
            id=part.id if "tool_call_ids" in carries else "",
            name=part.name,
            arguments=_json_text(part.arguments),
            signature=part.signature if "tool_signature" in carries else None,
        )
    return part


def project_result(result: ChatResult, dialect: Dialect) -> ChatResult:
    carries = dialect.carries
    parts = [p for p in (_output_part(part, carries) for part in result.content) if p is not None]
    usage = result.usage
    return ChatResult(
        id=result.id if "result_id" in carries else "",
        model=result.model,
        created=result.created if "created" in carries else 0,
        content=tuple(_merge_text(parts)),
        stop_reason=dialect.stop_collapse.get(result.stop_reason, result.stop_reason),
        stop_sequence=result.stop_sequence if "stop_sequence" in carries else None,
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens if "cached_tokens" in carries else 0,
            cache_creation_tokens=usage.cache_creation_tokens if "cache_creation_tokens" in carries else 0,
            reasoning_tokens=usage.reasoning_tokens if "reasoning_tokens" in carries else 0,
            reported=usage.reported,
        ),
    )


def request_carries(dialect: str) -> frozenset[str]:
    """What a dialect's *request* format carries (tests/contract/traits/<dialect>.py)."""
    module = importlib.import_module(f"tests.contract.traits.{dialect}")
    carries: frozenset[str] = module.REQUEST_CARRIES
    return carries


def _history_part(part: Part, carries: frozenset[str]) -> Part | None:
    if isinstance(part, Thinking):
        redacted = part.redacted if "redacted_thinking" in carries else None
        if "thinking_history" not in carries or (not part.text and redacted is None):
            return None
        return Thinking(
            text=part.text,
            signature=part.signature if "thinking_signature" in carries else None,
            redacted=redacted,
        )
    if isinstance(part, ToolCall):
        return ToolCall(
            id=part.id if "tool_call_ids" in carries else "",
            name=part.name,
            arguments=msgspec.json.encode(msgspec.json.decode(part.arguments or "{}")).decode(),
            signature=part.signature if "tool_signature" in carries else None,
        )
    if isinstance(part, ToolResult):
        content = tuple(_merge_text(list(part.content)))
        return ToolResult(
            tool_call_id=part.tool_call_id if "tool_call_ids" in carries else "",
            content=content,
            is_error=part.is_error if "tool_error" in carries else False,
            name=None,
        )
    if isinstance(part, Image) and "image_detail" not in carries:
        return Image(url=part.url, data=part.data, media_type=part.media_type)
    return part


def _messages(request: ChatRequest, carries: frozenset[str]) -> list[Message]:
    system = request.system_text
    out: list[Message] = [Message("system", (Text(system),))] if system else []
    for message in request.messages:
        if message.role in ("system", "developer"):
            continue
        parts = [p for p in (_history_part(part, carries) for part in message.content) if p is not None]
        if message.role == "tool":
            out.extend(Message("tool", (part,)) for part in parts)  # one result per message
            continue
        name = message.name if "message_names" in carries else None
        out.append(Message(message.role, tuple(_merge_text(parts)), name))
    return out


_OPTION_FIELDS = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop": "stop",
    "seed": "seed",
    "presence_penalty": "penalties",
    "frequency_penalty": "penalties",
    "user": "user",
    "service_tier": "service_tier",
    "prompt_cache_key": "prompt_cache_key",
    "parallel_tool_calls": "parallel_tool_calls",
    "tool_choice": "tool_choice",
}


def project_request(request: ChatRequest, carries: frozenset[str]) -> dict[str, Any]:
    """The parts of a request that must survive a hop through a dialect with these carries."""
    options = {
        name: getattr(request, name)
        for name, trait in _OPTION_FIELDS.items()
        if trait in carries and getattr(request, name) not in (None, ())
    }
    tools = [
        (t.name, t.description, t.parameters, t.strict if "tool_strict" in carries else None) for t in request.tools
    ]
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        named = "response_format_name" in carries
        options["response_format"] = (fmt.type, fmt.schema, fmt.name if named else None, fmt.strict if named else None)
    if request.reasoning is not None and "reasoning" in carries:
        options["reasoning"] = True
    return {"model": request.model, "messages": _messages(request, carries), "tools": tools, **options}
