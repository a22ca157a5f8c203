"""OpenAI Responses client side: `input` items -> canonical messages.

Items arrive as one flat list: messages (user, system, developer, assistant), the assistant's
reasoning and function calls, and function call outputs. Consecutive reasoning, assistant
messages and function calls form one canonical assistant turn; consecutive function call
outputs form one "tool" message. Items that only make sense against OpenAI's stored state
(item references) or its built-in tools are recorded as unsupported.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import Image, Message, Part, Role, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest
from shared.formats.common import image_from_url, require
from shared.formats.openai_responses.output import reasoning_parts

__all__ = ["parse_input"]

_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "system": "system", "developer": "developer"}
_TEXT_PARTS = {"input_text": "text", "output_text": "text", "refusal": "refusal"}


def _image(part: dict[str, Any], path: str, unsupported: set[str]) -> Image | None:
    detail = part.get("detail")
    require(detail is None or isinstance(detail, str), f"'{path}.detail' must be a string", f"{path}.detail")
    url = part.get("image_url")
    if isinstance(url, str) and url:
        return image_from_url(url, detail)
    if part.get("file_id") is not None:
        unsupported.add("images by file_id")
        return None
    raise BadRequest(f"'{path}.image_url' is required", param=f"{path}.image_url")


def _content_part(part: Any, path: str, unsupported: set[str]) -> Text | Image | None:
    require(isinstance(part, dict), f"'{path}' must be an object", path)
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        field = _TEXT_PARTS[kind]
        require(isinstance(part.get(field), str), f"'{path}.{field}' must be a string", f"{path}.{field}")
        return Text(part[field])
    if kind == "input_image":
        return _image(part, path, unsupported)
    require(isinstance(kind, str) and bool(kind), f"'{path}.type' is required", f"{path}.type")
    unsupported.add(f"'{kind}' content parts")  # input_file, input_audio, ...
    return None


def _content(content: Any, path: str, unsupported: set[str]) -> tuple[Text | Image, ...]:
    if isinstance(content, str):
        return (Text(content),)
    require(isinstance(content, list), f"'{path}' must be a string or an array of content parts", path)
    parts = (_content_part(part, f"{path}[{index}]", unsupported) for index, part in enumerate(content))
    return tuple(part for part in parts if part is not None)


def _call(item: dict[str, Any], path: str) -> ToolCall:
    call_id, name = item.get("call_id"), item.get("name")
    require(isinstance(call_id, str) and bool(call_id), f"'{path}.call_id' is required", f"{path}.call_id")
    require(isinstance(name, str) and bool(name), f"'{path}.name' is required", f"{path}.name")
    arguments = item.get("arguments", "{}")
    require(isinstance(arguments, str), f"'{path}.arguments' must be a string", f"{path}.arguments")
    return ToolCall(id=str(call_id), name=str(name), arguments=arguments if arguments.strip() else "{}")


def _result(item: dict[str, Any], path: str, unsupported: set[str]) -> ToolResult:
    call_id = item.get("call_id")
    require(isinstance(call_id, str) and bool(call_id), f"'{path}.call_id' is required", f"{path}.call_id")
    output = item.get("output")
    if output is None:
        raise BadRequest(f"'{path}.output' is required", param=f"{path}.output")
    content: tuple[Text | Image, ...] = (Text(output),) if isinstance(output, str) and output else ()
    if not isinstance(output, str):
        content = _content(output, f"{path}.output", unsupported)
    return ToolResult(tool_call_id=str(call_id), content=content)


def _reasoning(item: dict[str, Any], path: str) -> list[Thinking]:
    for key in ("summary", "content"):
        value = item.get(key)
        require(value is None or isinstance(value, list), f"'{path}.{key}' must be an array", f"{path}.{key}")
    encrypted = item.get("encrypted_content")
    require(encrypted is None or isinstance(encrypted, str), f"'{path}.encrypted_content' must be a string", path)
    return reasoning_parts(item)


class _Turns:
    """Collects items into canonical messages, merging an assistant turn's items and adjacent results."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.role: Role | None = None
        self.parts: list[Part] = []

    def flush(self) -> None:
        if self.role is not None and (self.parts or self.role not in ("assistant", "tool")):
            self.messages.append(Message(self.role, tuple(self.parts)))
        self.role, self.parts = None, []

    def add(self, role: Role, parts: list[Part] | tuple[Part, ...], merge: bool) -> None:
        if not merge or self.role != role:
            self.flush()
            self.role = role
        self.parts.extend(parts)


def _message(item: dict[str, Any], path: str, turns: _Turns, unsupported: set[str]) -> None:
    role = _ROLES.get(str(item.get("role")))
    if role is None:
        raise BadRequest(f"'{path}.role' must be one of {sorted(_ROLES)}", param=f"{path}.role")
    if item.get("content") is None:
        raise BadRequest(f"'{path}.content' is required", param=f"{path}.content")
    parts = _content(item["content"], f"{path}.content", unsupported)
    turns.add(role, parts, merge=role == "assistant")


def _item(item: Any, path: str, turns: _Turns, unsupported: set[str]) -> None:
    require(isinstance(item, dict), f"'{path}' must be an object", path)
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        _message(item, path, turns, unsupported)
    elif kind == "function_call":
        turns.add("assistant", [_call(item, path)], merge=True)
    elif kind == "function_call_output":
        turns.add("tool", [_result(item, path, unsupported)], merge=True)
    elif kind == "reasoning":
        turns.add("assistant", list(_reasoning(item, path)), merge=True)
    elif kind == "item_reference":
        unsupported.add("item references (state stored by OpenAI)")
    elif isinstance(kind, str) and kind:
        unsupported.add(f"'{kind}' input items")  # built-in tool calls and their outputs
    else:
        raise BadRequest(f"'{path}.type' is required", param=f"{path}.type")


def parse_input(value: Any, unsupported: set[str]) -> list[Message]:
    if isinstance(value, str):
        return [Message("user", (Text(value),))]
    require(isinstance(value, list), "'input' must be a string or an array of input items", "input")
    turns = _Turns()
    for index, item in enumerate(value):
        _item(item, f"input[{index}]", turns, unsupported)
    turns.flush()
    return turns.messages
