"""Small pieces every dialect needs: body decoding, data URLs, tool arguments, request checks."""

from __future__ import annotations

import re
from typing import Any

from shared import jsonx
from shared.canonical.chat import Image
from shared.canonical.errors import BadRequest

__all__ = [
    "arguments_object",
    "arguments_text",
    "decode_body",
    "image_from_url",
    "image_url",
    "optional_bool",
    "optional_int",
    "optional_number",
    "optional_str",
    "require",
]

_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*;base64,(?P<data>.*)$", re.DOTALL)


def decode_body(raw: bytes) -> dict[str, Any]:
    """A JSON object, or a 400 that says what is wrong with the body."""
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        raise BadRequest(
            "We could not parse the JSON body of your request: it is not valid JSON.", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return body


def require(condition: bool, message: str, param: str | None = None) -> None:
    if not condition:
        raise BadRequest(message, param=param)


def optional_str(body: dict[str, Any], name: str, path: str | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    require(isinstance(value, str), f"'{path or name}' must be a string", path or name)
    return str(value)


def optional_bool(body: dict[str, Any], name: str, path: str | None = None) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    require(isinstance(value, bool), f"'{path or name}' must be a boolean", path or name)
    return bool(value)


def optional_int(body: dict[str, Any], name: str, low: int | None = None, path: str | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    label = path or name
    require(isinstance(value, int) and not isinstance(value, bool), f"'{label}' must be an integer", label)
    if low is not None:
        require(value >= low, f"'{label}' must be at least {low}", label)
    return int(value)


def optional_number(body: dict[str, Any], name: str, low: float, high: float, path: str | None = None) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    label = path or name
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    require(ok, f"'{label}' must be a number between {low:g} and {high:g}", label)
    return float(value)


def image_from_url(url: str, detail: str | None = None) -> Image:
    """`data:` URLs become inline images; anything else stays a URL."""
    match = _DATA_URL.match(url)
    if match:
        return Image(data=match.group("data"), media_type=match.group("media") or "image/png", detail=detail)
    return Image(url=url, detail=detail)


def image_url(image: Image) -> str:
    """An image as one URL string (inline images as `data:` URLs)."""
    if image.data is not None:
        return f"data:{image.media_type or 'image/png'};base64,{image.data}"
    return image.url or ""


def arguments_text(arguments: Any) -> str:
    """Tool arguments as JSON text, whether the dialect sent an object or a string."""
    if isinstance(arguments, str):
        return arguments if arguments.strip() else "{}"
    if arguments is None:
        return "{}"
    return jsonx.dumps_str(arguments)


def arguments_object(arguments: str) -> dict[str, Any]:
    """Tool arguments as an object, for dialects that want one (Anthropic input, Gemini args, Ollama)."""
    try:
        value = jsonx.loads(arguments) if arguments.strip() else {}
    except jsonx.JSONDecodeError:
        return {"_raw": arguments}  # never drop what the model produced, even when it is not JSON
    return value if isinstance(value, dict) else {"_value": value}
