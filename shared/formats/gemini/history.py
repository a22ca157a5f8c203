"""Canonical parts and messages -> Gemini `parts` and `contents` (requests and rendered answers).

- Thinking becomes a thought part (`"thought": true`) with its signature; a thinking part with no
  text but a signature goes back onto the text part before it (see parts.py), or stands alone as an
  empty text part with that signature. Redacted thinking (another provider's opaque blob) has no
  Gemini form and is left out; unsigned thinking is sent back only when `echo_reasoning` is set.
  Every signature is written with `wire.signature_out` (base64 on the wire, whatever its origin).
- Tool calls become `functionCall` parts with `args` as an object and their `thoughtSignature`. In a
  request they carry no `id`: the Gemini API rejects one there and pairs calls with responses by
  name and order. A rendered answer carries the id, so a Gemini client can send it back.
- Tool results become `functionResponse` parts named after their call (the name comes from the
  preceding tool call with the same id when the result has none), with the text as
  `{"output": ...}` or `{"error": ...}` and images as nested `parts`. Consecutive tool messages, and a
  user message that follows them, share one user turn.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, Image, Message, Part, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest
from shared.formats.common import arguments_object
from shared.formats.gemini.wire import signature_out

__all__ = ["contents", "guess_media_type", "image_part", "model_parts"]

_EXTENSIONS = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "heic": "image/heic",
    "heif": "image/heif",
}


def guess_media_type(url: str) -> str | None:
    """An image type from the URL's extension, for a `fileData` part that should name one."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    name = path.rsplit("/", 1)[-1]
    return _EXTENSIONS.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None


def image_part(image: Image) -> dict[str, Any]:
    if image.data is not None:
        return {"inlineData": {"mimeType": image.media_type or "image/png", "data": image.data}}
    data: dict[str, Any] = {}
    media_type = image.media_type or guess_media_type(image.url or "")
    if media_type:
        data["mimeType"] = media_type
    data["fileUri"] = image.url or ""
    return {"fileData": data}


def _call_part(call: ToolCall, with_id: bool) -> dict[str, Any]:
    function: dict[str, Any] = {"id": call.id} if with_id and call.id else {}
    function["name"] = call.name
    function["args"] = arguments_object(call.arguments)
    part: dict[str, Any] = {"functionCall": function}
    if call.signature:
        part["thoughtSignature"] = signature_out(call.signature)
    return part


def _signature_part(out: list[dict[str, Any]], signature: str) -> None:
    last = out[-1] if out else None
    if last is not None and "text" in last and not last.get("thought") and "thoughtSignature" not in last:
        last["thoughtSignature"] = signature_out(signature)
    else:
        out.append({"text": "", "thoughtSignature": signature_out(signature)})


def model_parts(content: tuple[Part, ...], *, with_ids: bool, echo_reasoning: bool) -> list[dict[str, Any]]:
    """The parts of a model turn (an assistant message, or an answer being rendered)."""
    out: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, Text):
            if part.text:
                out.append({"text": part.text})
        elif isinstance(part, ToolCall):
            out.append(_call_part(part, with_ids))
        elif isinstance(part, Thinking):
            if part.text and (part.signature or echo_reasoning):
                thought: dict[str, Any] = {"text": part.text, "thought": True}
                if part.signature:
                    thought["thoughtSignature"] = signature_out(part.signature)
                out.append(thought)
            elif not part.text and part.signature:
                _signature_part(out, part.signature)
        elif isinstance(part, Image):
            out.append(image_part(part))
    return out


def _response_part(result: ToolResult, name: str) -> dict[str, Any]:
    text = "".join(p.text for p in result.content if isinstance(p, Text))
    response: dict[str, Any] = {
        "functionResponse": {"name": name, "response": {"error" if result.is_error else "output": text}}
    }
    images = [image_part(p) for p in result.content if isinstance(p, Image)]
    if images:
        response["functionResponse"]["parts"] = images
    return response


def _user_parts(message: Message, where: str, names: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, Text):
            if part.text:
                out.append({"text": part.text})
        elif isinstance(part, Image):
            out.append(image_part(part))
        elif isinstance(part, ToolResult):
            name = part.name or names.get(part.tool_call_id)
            if not name:
                raise BadRequest(
                    f"'{where}' answers tool call '{part.tool_call_id[:100]}', which no earlier assistant turn made;"
                    " Gemini needs the function's name.",
                    param=where,
                )
            out.append(_response_part(part, name))
    return out


def contents(request: ChatRequest, echo_reasoning: bool) -> list[dict[str, Any]]:
    """The `contents` of a request: system messages are left to `systemInstruction`."""
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name
    previous = ""
    for index, message in enumerate(request.messages):
        role = message.role
        if role in ("system", "developer"):
            continue
        if role == "assistant":
            names.update((p.id, p.name) for p in message.content if isinstance(p, ToolCall))
            parts = model_parts(message.content, with_ids=False, echo_reasoning=echo_reasoning)
            if parts:
                out.append({"role": "model", "parts": parts})
        else:
            parts = _user_parts(message, f"messages[{index}]", names)
            if parts and previous == "tool" and out and out[-1]["role"] == "user":
                out[-1]["parts"].extend(parts)
            elif parts:
                out.append({"role": "user", "parts": parts})
        previous = role
    return out
