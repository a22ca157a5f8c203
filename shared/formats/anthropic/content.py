"""Anthropic Messages, client side: `system` and `messages` (content blocks) -> canonical messages.

A user turn that carries `tool_result` blocks becomes a canonical "tool" message holding every
result, followed by a "user" message with the turn's other blocks (the normal form of
shared/canonical/chat.py). `cache_control` markers are prompt-caching hints, not content: they are
not kept (a same-dialect upstream receives the client's own body, markers included).
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import Image, Message, Part, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest
from shared.formats.common import arguments_text, require

__all__ = ["parse_messages", "parse_system"]

_ROLES = ("assistant", "system", "user")


def _string(item: dict[str, Any], name: str, path: str) -> str:
    value = item.get(name)
    require(isinstance(value, str), f"'{path}.{name}' must be a string", f"{path}.{name}")
    return str(value)


def _text(item: dict[str, Any], path: str, unsupported: set[str]) -> Text:
    if item.get("citations"):
        unsupported.add("citations on text blocks")
    return Text(_string(item, "text", path))


def _image(item: dict[str, Any], path: str, unsupported: set[str]) -> Image | None:
    source = item.get("source")
    if not isinstance(source, dict):
        raise BadRequest(f"'{path}.source' must be an object", param=f"{path}.source")
    kind = source.get("type")
    if kind == "base64":
        media_type = _string(source, "media_type", f"{path}.source")
        return Image(data=_string(source, "data", f"{path}.source"), media_type=media_type)
    if kind == "url":
        return Image(url=_string(source, "url", f"{path}.source"))
    if isinstance(kind, str):
        unsupported.add(f"'{kind}' image sources")
        return None
    raise BadRequest(f"'{path}.source.type' must be 'base64' or 'url'", param=f"{path}.source.type")


def _kind(item: Any, path: str) -> str:
    require(isinstance(item, dict), f"'{path}' must be an object", path)
    kind = item.get("type")
    require(isinstance(kind, str) and bool(kind), f"'{path}.type' is required", f"{path}.type")
    return str(kind)


def _result_content(content: Any, path: str, unsupported: set[str]) -> tuple[Text | Image, ...]:
    if content is None or content == "":
        return ()
    if isinstance(content, str):
        return (Text(content),)
    require(isinstance(content, list), f"'{path}' must be a string or an array of content blocks", path)
    parts: list[Text | Image] = []
    for index, item in enumerate(content):
        where = f"{path}[{index}]"
        kind = _kind(item, where)
        if kind == "text":
            parts.append(_text(item, where, unsupported))
        elif kind == "image":
            image = _image(item, where, unsupported)
            if image is not None:
                parts.append(image)
        else:
            unsupported.add(f"'{kind}' blocks in tool results")
    return tuple(parts)


def _tool_result(item: dict[str, Any], path: str, unsupported: set[str]) -> ToolResult:
    call_id = item.get("tool_use_id")
    require(isinstance(call_id, str) and bool(call_id), f"'{path}.tool_use_id' is required", f"{path}.tool_use_id")
    is_error = item.get("is_error")
    require(is_error is None or isinstance(is_error, bool), f"'{path}.is_error' must be a boolean", f"{path}.is_error")
    content = _result_content(item.get("content"), f"{path}.content", unsupported)
    return ToolResult(tool_call_id=str(call_id), content=content, is_error=bool(is_error))


def _tool_use(item: dict[str, Any], path: str) -> ToolCall:
    ident = item.get("id")
    require(isinstance(ident, str) and bool(ident), f"'{path}.id' is required", f"{path}.id")
    name = item.get("name")
    require(isinstance(name, str) and bool(name), f"'{path}.name' is required", f"{path}.name")
    arguments = item.get("input", {})
    require(isinstance(arguments, dict), f"'{path}.input' must be an object", f"{path}.input")
    return ToolCall(id=str(ident), name=str(name), arguments=arguments_text(arguments))


def _thinking(item: dict[str, Any], path: str) -> Thinking:
    text = _string(item, "thinking", path)
    signature = item.get("signature")
    require(signature is None or isinstance(signature, str), f"'{path}.signature' must be a string", path)
    return Thinking(text=text, signature=signature or None)


def _block(item: Any, path: str, role: str, unsupported: set[str]) -> Part | None:
    kind = _kind(item, path)
    if kind == "text":
        return _text(item, path, unsupported)
    if kind == "image" and role == "user":
        return _image(item, path, unsupported)
    if kind == "tool_result" and role == "user":
        return _tool_result(item, path, unsupported)
    if kind == "tool_use" and role == "assistant":
        return _tool_use(item, path)
    if kind == "thinking" and role == "assistant":
        return _thinking(item, path)
    if kind == "redacted_thinking" and role == "assistant":
        return Thinking(redacted=_string(item, "data", path))
    unsupported.add(f"'{kind}' content blocks in {role} messages")
    return None


def _blocks(content: Any, path: str, role: str, unsupported: set[str]) -> list[Part]:
    if isinstance(content, str):
        return [Text(content)]
    require(isinstance(content, list), f"'{path}' must be a string or an array of content blocks", path)
    parts = (_block(item, f"{path}[{index}]", role, unsupported) for index, item in enumerate(content))
    return [part for part in parts if part is not None]


def _message(message: Any, index: int, unsupported: set[str]) -> list[Message]:
    where = f"messages[{index}]"
    require(isinstance(message, dict), f"'{where}' must be an object", where)
    role = message.get("role")
    require(role in _ROLES, f"'{where}.role' must be one of {list(_ROLES)}", f"{where}.role")
    if "content" not in message:
        raise BadRequest(f"'{where}.content' is required", param=f"{where}.content")
    if role == "system":
        return [Message("system", tuple(_system_blocks(message["content"], f"{where}.content", unsupported)))]
    parts = _blocks(message["content"], f"{where}.content", str(role), unsupported)
    if role == "assistant":
        return [Message("assistant", tuple(parts))]
    results = tuple(p for p in parts if isinstance(p, ToolResult))
    rest = tuple(p for p in parts if not isinstance(p, ToolResult))
    if not results:
        return [Message("user", rest)]
    return [Message("tool", results)] + ([Message("user", rest)] if rest else [])


def parse_messages(messages: Any, unsupported: set[str]) -> tuple[Message, ...]:
    if messages is None:
        raise BadRequest("'messages' is a required property", param="messages", code="missing_required_parameter")
    require(isinstance(messages, list) and bool(messages), "'messages' must be a non-empty array", "messages")
    return tuple(m for index, message in enumerate(messages) for m in _message(message, index, unsupported))


def _system_blocks(system: Any, path: str, unsupported: set[str]) -> list[Text]:
    if isinstance(system, str):
        return [Text(system)]
    require(isinstance(system, list), f"'{path}' must be a string or an array of text blocks", path)
    texts = []
    for index, item in enumerate(system):
        where = f"{path}[{index}]"
        require(_kind(item, where) == "text", f"'{where}.type' must be 'text'", f"{where}.type")
        texts.append(_text(item, where, unsupported))
    return texts


def parse_system(system: Any, unsupported: set[str]) -> Message | None:
    if system is None:
        return None
    texts = _system_blocks(system, "system", unsupported)
    return Message("system", tuple(texts)) if texts else None
