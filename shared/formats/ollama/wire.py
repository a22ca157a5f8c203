"""Small pieces of the Ollama wire: timestamps, tool calls and their ids, inline images.

Ollama timestamps are RFC 3339 strings with up to nanosecond precision (`created_at`); the
canonical model keeps epoch seconds. Tool calls carry their arguments as a JSON object, and an
`id` only since Ollama 0.12.10 (the official Python SDK drops it): an answer without ids gets
deterministic ones derived from the answer (model, position, name, arguments), so the JSON answer
and its stream agree. Images are bare base64 strings; their media type is read from the magic
bytes at the start of the data.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from shared import jsonx
from shared.canonical.chat import ToolCall
from shared.formats.common import arguments_object, arguments_text

__all__ = [
    "call_body",
    "dumps_line",
    "format_created",
    "media_type_of",
    "parse_created",
    "result_call",
    "synthetic_call_id",
]

# Base64 of each format's magic bytes (the first 3-byte groups encode to fixed characters).
_MAGIC = (
    ("iVBORw0KGgo", "image/png"),
    ("/9j/", "image/jpeg"),
    ("R0lGOD", "image/gif"),
    ("UklGR", "image/webp"),
    ("Qk", "image/bmp"),
)


def parse_created(value: Any) -> int:
    """Epoch seconds of an RFC 3339 `created_at` (0 when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def format_created(created: int) -> str:
    """An RFC 3339 UTC timestamp for epoch seconds, as Ollama writes `created_at`."""
    try:
        moment = datetime.fromtimestamp(max(created, 0), UTC)
    except (OverflowError, OSError, ValueError):
        moment = datetime.fromtimestamp(0, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def media_type_of(data: str) -> str:
    for prefix, media_type in _MAGIC:
        if data.startswith(prefix):
            return media_type
    return "image/png"


def synthetic_call_id(model: str, position: int, name: str, arguments: str) -> str:
    """A stable id for a tool call the upstream sent without one."""
    digest = hashlib.sha256("\x1f".join((model, str(position), name, arguments)).encode()).hexdigest()
    return f"call_{digest[:24]}"


def result_call(call: Any, model: str, position: int) -> ToolCall:
    """A tool call of an Ollama answer (`position` counts the answer's tool calls from 0)."""
    body: dict[str, Any] = call if isinstance(call, dict) else {}
    function = body.get("function")
    if not isinstance(function, dict):
        function = {}
    name = str(function.get("name") or "")
    arguments = arguments_text(function.get("arguments"))
    ident = body.get("id")
    if not isinstance(ident, str) or not ident:
        ident = synthetic_call_id(model, position, name, arguments)
    return ToolCall(id=ident, name=name, arguments=arguments)


def call_body(call: ToolCall, position: int) -> dict[str, Any]:
    """A tool call as Ollama writes it: arguments as an object, `id` when known."""
    body: dict[str, Any] = {}
    if call.id:
        body["id"] = call.id
    body["function"] = {"index": position, "name": call.name, "arguments": arguments_object(call.arguments)}
    return body


def dumps_line(value: Any) -> bytes:
    """One NDJSON line."""
    return jsonx.dumps(value) + b"\n"
