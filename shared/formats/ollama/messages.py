"""Ollama chat messages, both directions.

Client side: `{role, content, images, thinking, tool_calls, tool_name, tool_call_id}` into the
canonical form. Tool calls in history carry an `id` only from clients that keep it (Ollama
0.12.10 and later return one; the official Python SDK drops it): a call without one gets
`call_<message>_<position>`, and a tool result without `tool_call_id` answers the first call of
the latest assistant turn still unanswered with the same `tool_name` (else the first unanswered
call), which is how Ollama itself pairs them.

Provider side: the canonical messages as Ollama reads them. Images go inline as base64 only
(Ollama fetches no URLs); thinking goes back as the assistant's `thinking`, which Ollama's
templates replay; signatures and redacted thinking have no Ollama form.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, Image, Message, Part, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest
from shared.formats.common import arguments_text, image_from_url, require
from shared.formats.ollama.wire import call_body, media_type_of

__all__ = ["build_messages", "parse_messages"]

_ROLES = ("system", "user", "assistant", "tool")
_FIELDS = {"role", "content", "images", "thinking", "tool_calls", "tool_name", "tool_call_id"}
_URL_PREFIXES = ("http://", "https://", "file://", "gs://", "s3://")


def _string(message: dict[str, Any], name: str, where: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    require(isinstance(value, str), f"'{where}.{name}' must be a string", f"{where}.{name}")
    return str(value)


def _images(value: Any, where: str) -> list[Image]:
    if value is None:
        return []
    require(isinstance(value, list), f"'{where}.images' must be an array of base64 strings", f"{where}.images")
    images = []
    for index, item in enumerate(value):
        path = f"{where}.images[{index}]"
        require(isinstance(item, str) and bool(item), f"'{path}' must be a base64-encoded image", path)
        if item.startswith("data:"):
            images.append(image_from_url(item))
            continue
        if item.startswith(_URL_PREFIXES):
            raise BadRequest(f"'{path}' must be base64-encoded image data, not a URL", param=path)
        images.append(Image(data=item, media_type=media_type_of(item)))
    return images


def _call(call: Any, path: str, default_id: str) -> ToolCall:
    require(isinstance(call, dict), f"'{path}' must be an object", path)
    function = call.get("function")
    require(isinstance(function, dict), f"'{path}.function' is required", f"{path}.function")
    name = function.get("name")
    require(isinstance(name, str) and bool(name), f"'{path}.function.name' is required", f"{path}.function.name")
    arguments = function.get("arguments")
    ok = arguments is None or isinstance(arguments, dict)
    require(ok, f"'{path}.function.arguments' must be an object", f"{path}.function.arguments")
    ident = call.get("id")
    require(ident is None or isinstance(ident, str), f"'{path}.id' must be a string", f"{path}.id")
    return ToolCall(id=ident or default_id, name=name, arguments=arguments_text(arguments))


class _Reader:
    """Reads messages in order, remembering which tool calls still wait for their result."""

    def __init__(self, unsupported: set[str]) -> None:
        self.unsupported = unsupported
        self.pending: list[ToolCall] = []

    def assistant(self, message: dict[str, Any], where: str, index: int) -> Message:
        parts: list[Part] = []
        thinking = _string(message, "thinking", where)
        if thinking:
            parts.append(Thinking(text=thinking))
        content = _string(message, "content", where)
        if content:
            parts.append(Text(content))
        calls = message.get("tool_calls")
        if calls is not None:
            require(isinstance(calls, list), f"'{where}.tool_calls' must be an array", f"{where}.tool_calls")
            self.pending = [
                _call(call, f"{where}.tool_calls[{j}]", f"call_{index}_{j}") for j, call in enumerate(calls)
            ]
            parts.extend(self.pending)
        if message.get("images"):
            self.unsupported.add("images in assistant messages")
        return Message("assistant", tuple(parts))

    def _answered(self, ident: str | None, name: str | None) -> ToolCall | None:
        candidates = [c for c in self.pending if c.id == ident] if ident else []
        if not candidates and not ident:
            candidates = [c for c in self.pending if c.name == name] or self.pending
        if not candidates:
            return None
        answered = candidates[0]
        self.pending.remove(answered)
        return answered

    def tool(self, message: dict[str, Any], where: str, index: int) -> Message:
        name = _string(message, "tool_name", where) or None
        ident = _string(message, "tool_call_id", where) or None
        call = self._answered(ident, name)
        content: list[Text | Image] = []
        text = _string(message, "content", where)
        if text:
            content.append(Text(text))
        content.extend(_images(message.get("images"), where))
        result = ToolResult(
            tool_call_id=ident or (call.id if call else f"call_{index}"),
            content=tuple(content),
            name=name or (call.name if call else None),
        )
        return Message("tool", (result,))

    def plain(self, role: str, message: dict[str, Any], where: str) -> Message:
        parts: list[Part] = []
        content = _string(message, "content", where)
        if content:
            parts.append(Text(content))
        images = _images(message.get("images"), where)
        if images and role == "system":
            self.unsupported.add("images in system messages")
        elif images:
            parts.extend(images)
        return Message("system" if role == "system" else "user", tuple(parts) or (Text(""),))

    def message(self, message: Any, index: int) -> Message:
        where = f"messages[{index}]"
        require(isinstance(message, dict), f"'{where}' must be an object", where)
        role = message.get("role")
        role = role.lower() if isinstance(role, str) else role
        require(role in _ROLES, f"'{where}.role' must be one of {list(_ROLES)}", f"{where}.role")
        self.unsupported.update(f"'{key}' in messages" for key in message if key not in _FIELDS)
        if role == "assistant":
            return self.assistant(message, where, index)
        if role == "tool":
            return self.tool(message, where, index)
        return self.plain(str(role), message, where)


def parse_messages(value: Any, unsupported: set[str]) -> tuple[Message, ...]:
    if value is None:
        raise BadRequest("'messages' is a required property", param="messages", code="missing_required_parameter")
    require(isinstance(value, list) and bool(value), "'messages' must be a non-empty array", "messages")
    reader = _Reader(unsupported)
    return tuple(reader.message(message, index) for index, message in enumerate(value))


def _inline(images: list[Image]) -> list[str]:
    out = []
    for image in images:
        if image.data is None:
            raise BadRequest("image URLs are not supported by ollama; send the image as base64", param="messages")
        out.append(image.data)
    return out


def _body(role: str, parts: tuple[Any, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {"role": role, "content": "".join(p.text for p in parts if isinstance(p, Text))}
    images = _inline([p for p in parts if isinstance(p, Image)])
    if images:
        body["images"] = images
    return body


def _assistant(message: Message) -> dict[str, Any]:
    body = _body("assistant", message.content)
    thinking = "".join(p.text for p in message.content if isinstance(p, Thinking))
    if thinking:
        body["thinking"] = thinking
    calls = [p for p in message.content if isinstance(p, ToolCall)]
    if calls:
        body["tool_calls"] = [call_body(call, position) for position, call in enumerate(calls)]
    return body


def _results(message: Message, names: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for part in message.content:
        if not isinstance(part, ToolResult):
            continue
        body = _body("tool", part.content)
        name = part.name or names.get(part.tool_call_id)
        if name:
            body["tool_name"] = name
        if part.tool_call_id:
            body["tool_call_id"] = part.tool_call_id
        out.append(body)
    return out


def build_messages(request: ChatRequest) -> list[dict[str, Any]]:
    names = {
        part.id: part.name
        for message in request.messages
        if message.role == "assistant"
        for part in message.content
        if isinstance(part, ToolCall)
    }
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "assistant":
            out.append(_assistant(message))
        elif message.role == "tool":
            out.extend(_results(message, names))
        else:
            out.append(_body("system" if message.role in ("system", "developer") else "user", message.content))
    return out
