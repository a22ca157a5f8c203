"""Gemini `systemInstruction` and `contents` -> canonical messages (client side).

Every part is checked (a 400 names `contents[i].parts[j]...`). Model turns are read by the same
`PartReader` as answers, so signatures land exactly where parts.py says. A user turn is split into
a "tool" message (its `functionResponse` parts) and a "user" message (everything else), in order.
Gemini pairs a response with its call by name and order, ids being optional: a call without an id
gets a stable one from its turn's position, and a response without one takes the id of the oldest
unanswered call of the same name (else of the oldest unanswered call).
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import Image, Message, Part, Text, ToolCall, ToolResult
from shared.canonical.errors import BadRequest
from shared.canonical.events import Finish, Start, StreamEvent, fold
from shared.formats.common import require
from shared.formats.gemini.parts import PartReader
from shared.formats.gemini.wire import camel, tool_call_id

__all__ = ["parse_contents", "parse_system"]

_DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
_IGNORED = {"thought", "thoughtSignature"}


def _string(part: dict[str, Any], name: str, path: str, required: bool = True) -> str | None:
    value = part.get(name)
    if value is None and not required:
        return None
    require(
        isinstance(value, str) and (bool(value) or name == "text"),
        f"'{path}.{name}' must be a string",
        f"{path}.{name}",
    )
    return str(value)


def _media(kind: str, raw: Any, path: str, unsupported: set[str]) -> Image | None:
    """An inlineData or fileData part as an image (other media cannot be carried)."""
    require(isinstance(raw, dict), f"'{path}' must be an object", path)
    data = camel(raw)
    if kind == "inlineData":
        media_type = str(_string(data, "mimeType", path))
        payload = _string(data, "data", path)
        if not media_type.startswith("image/"):
            unsupported.add(f"inline '{media_type[:60]}' parts")
            return None
        return Image(data=payload, media_type=media_type)
    uri = _string(data, "fileUri", path)
    file_type = _string(data, "mimeType", path, required=False)
    if file_type is not None and not file_type.startswith("image/"):
        unsupported.add(f"'{file_type[:60]}' file parts")
        return None
    return Image(url=uri)  # its type is read back from the URL when written (history.image_part)


def _checked_part(raw: Any, path: str, unsupported: set[str]) -> dict[str, Any]:
    require(isinstance(raw, dict), f"'{path}' must be an object", path)
    part = camel(raw)
    fields = [name for name in _DATA_FIELDS if part.get(name) is not None]
    others = [name for name in part if name not in _DATA_FIELDS and name not in _IGNORED and part[name] is not None]
    unsupported.update(f"'{name}' parts" for name in others)
    require(len(fields) <= 1, f"'{path}' must hold one kind of data, not {' and '.join(fields)}", path)
    if not fields and not others and part.get("thoughtSignature") is None:
        raise BadRequest(f"'{path}' holds no data", param=path)
    if "text" in fields:
        _string(part, "text", path)
    signature = part.get("thoughtSignature")
    require(signature is None or isinstance(signature, str), f"'{path}.thoughtSignature' must be a string", path)
    thought = part.get("thought")
    require(thought is None or isinstance(thought, bool), f"'{path}.thought' must be a boolean", f"{path}.thought")
    return part


def _response_content(
    response: Any, parts: Any, path: str, unsupported: set[str]
) -> tuple[tuple[Text | Image, ...], bool]:
    require(response is None or isinstance(response, dict), f"'{path}.response' must be an object", f"{path}.response")
    is_error = isinstance(response, dict) and set(response) == {"error"}
    if not response:
        text = ""
    elif set(response) in ({"output"}, {"error"}):
        value = next(iter(response.values()))
        text = value if isinstance(value, str) else jsonx.dumps_str(value)
    else:
        text = jsonx.dumps_str(response)
    content: list[Text | Image] = [Text(text)] if text else []
    require(parts is None or isinstance(parts, list), f"'{path}.parts' must be an array", f"{path}.parts")
    for index, raw in enumerate(parts or ()):
        item = camel(raw) if isinstance(raw, dict) else {}
        kind = "inlineData" if "inlineData" in item else "fileData" if "fileData" in item else None
        require(kind is not None, f"'{path}.parts[{index}]' must hold inlineData or fileData", f"{path}.parts[{index}]")
        image = _media(str(kind), item[str(kind)], f"{path}.parts[{index}].{kind}", unsupported)
        if image is not None:
            content.append(image)
    return tuple(content), is_error


class _Reader:
    __slots__ = ("messages", "pending", "unsupported")

    def __init__(self, unsupported: set[str]) -> None:
        self.messages: list[Message] = []
        self.pending: list[tuple[str, str]] = []  # (id, name) of calls not answered yet
        self.unsupported = unsupported

    def content(self, raw: Any, index: int) -> None:
        path = f"contents[{index}]"
        require(isinstance(raw, dict), f"'{path}' must be an object", path)
        content = camel(raw)
        role = content.get("role") or "user"
        ok = isinstance(role, str) and role in ("user", "model", "function")
        require(ok, f"'{path}.role' must be 'user' or 'model'", f"{path}.role")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise BadRequest(f"'{path}.parts' must be a non-empty array", param=f"{path}.parts")
        checked = [_checked_part(part, f"{path}.parts[{i}]", self.unsupported) for i, part in enumerate(parts)]
        if role == "model":
            self._model(checked, path)
        else:
            self._user(checked, path)

    def _model(self, parts: list[dict[str, Any]], path: str) -> None:
        reader = PartReader(path)
        events: list[StreamEvent] = [Start("", "")]
        for index, part in enumerate(parts):
            where = f"{path}.parts[{index}]"
            if part.get("functionResponse") is not None:
                raise BadRequest(f"'{where}' is a function response in a model turn", param=where)
            if part.get("functionCall") is not None:
                self._check_call(part["functionCall"], f"{where}.functionCall")
            elif part.get("inlineData") is not None or part.get("fileData") is not None:
                self.unsupported.add("media parts in model turns")
            events += reader.part(part)
        content = fold([*events, *reader.close(), Finish("end")]).content
        if content:
            self.messages.append(Message("assistant", content))
        self.pending = [(p.id, p.name) for p in content if isinstance(p, ToolCall)]

    @staticmethod
    def _check_call(raw: Any, path: str) -> None:
        require(isinstance(raw, dict), f"'{path}' must be an object", path)
        call = camel(raw)
        _string(call, "name", path)
        args = call.get("args")
        require(args is None or isinstance(args, dict), f"'{path}.args' must be an object", f"{path}.args")
        require(call.get("id") is None or isinstance(call.get("id"), str), f"'{path}.id' must be a string", path)

    def _answer(self, raw: Any, path: str, position: int) -> ToolResult:
        require(isinstance(raw, dict), f"'{path}' must be an object", path)
        response = camel(raw)
        name = str(_string(response, "name", path))
        ident = response.get("id")
        require(ident is None or isinstance(ident, str), f"'{path}.id' must be a string", f"{path}.id")
        match = next((p for p in self.pending if p[0] == ident), None) if ident else None
        match = match or next((p for p in self.pending if p[1] == name), None)
        match = match or (self.pending[0] if self.pending and not ident else None)
        if match is not None:
            self.pending.remove(match)
        call_id = str(ident) if ident else match[0] if match else tool_call_id(path, position, name, "")
        content, is_error = _response_content(response.get("response"), response.get("parts"), path, self.unsupported)
        return ToolResult(tool_call_id=call_id, content=content, is_error=is_error, name=name)

    def _user(self, parts: list[dict[str, Any]], path: str) -> None:
        groups: list[tuple[str, list[Part]]] = []
        for index, part in enumerate(parts):
            where = f"{path}.parts[{index}]"
            item: Part | None
            if part.get("functionResponse") is not None:
                kind, item = "tool", self._answer(part["functionResponse"], f"{where}.functionResponse", index)
            elif part.get("functionCall") is not None:
                raise BadRequest(f"'{where}' is a function call in a user turn", param=where)
            elif part.get("text") is not None:
                kind, item = "user", Text(part["text"])
            elif part.get("inlineData") is not None:
                kind, item = "user", _media("inlineData", part["inlineData"], f"{where}.inlineData", self.unsupported)
            elif part.get("fileData") is not None:
                kind, item = "user", _media("fileData", part["fileData"], f"{where}.fileData", self.unsupported)
            else:
                continue
            if item is None:
                continue
            if not groups or groups[-1][0] != kind:
                groups.append((kind, []))
            groups[-1][1].append(item)
        self.messages += [Message("tool" if kind == "tool" else "user", tuple(items)) for kind, items in groups]


def parse_contents(value: Any, unsupported: set[str]) -> tuple[Message, ...]:
    if value is None:
        raise BadRequest("'contents' is a required property", param="contents", code="missing_required_parameter")
    require(isinstance(value, list) and bool(value), "'contents' must be a non-empty array", "contents")
    reader = _Reader(unsupported)
    for index, content in enumerate(value):
        reader.content(content, index)
    return tuple(reader.messages)


def parse_system(value: Any, unsupported: set[str]) -> Message | None:
    if value is None:
        return None
    if isinstance(value, str):  # the SDKs accept a bare string; some clients send it as one
        return Message("system", (Text(value),)) if value else None
    require(isinstance(value, dict), "'systemInstruction' must be an object", "systemInstruction")
    parts = camel(value).get("parts")
    if not isinstance(parts, list):
        raise BadRequest("'systemInstruction.parts' must be an array", param="systemInstruction.parts")
    texts: list[Part] = []
    for index, raw in enumerate(parts):
        part = _checked_part(raw, f"systemInstruction.parts[{index}]", unsupported)
        if part.get("text") is not None:
            texts.append(Text(part["text"]))
        elif any(part.get(name) is not None for name in _DATA_FIELDS):
            unsupported.add("non-text system instruction parts")
    return Message("system", tuple(texts)) if texts else None
