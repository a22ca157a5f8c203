"""OpenAI Chat Completions, client side: validate a request, render an error."""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.errors import BadRequest, GatewayError

__all__ = ["ChatRequest", "parse_request", "render_error"]


class ChatRequest:
    """The parsed body plus the few fields the gateway itself reads."""

    __slots__ = ("body", "model", "stream", "wants_usage")

    def __init__(self, body: dict[str, Any], model: str, stream: bool, wants_usage: bool) -> None:
        self.body = body
        self.model = model
        self.stream = stream
        self.wants_usage = wants_usage


def _number_in(body: dict[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadRequest(f"'{name}' must be a number between {low:g} and {high:g}", param=name)


def _positive_int(body: dict[str, Any], name: str) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"'{name}' must be an integer of at least 1", param=name)


def _check_messages(messages: Any) -> None:
    if messages is None:
        raise BadRequest("'messages' is a required property", param="messages", code="missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequest(f"'messages[{index}]' must be an object", param=f"messages[{index}]")
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise BadRequest(f"'messages[{index}].role' is required", param=f"messages[{index}].role")


def parse_request(raw: bytes) -> ChatRequest:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        raise BadRequest(
            "We could not parse the JSON body of your request: it is not valid JSON.", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("'model' is a required string property", param="model", code="missing_required_parameter")
    _check_messages(body.get("messages"))
    stream = body.get("stream")
    if stream is None:
        stream = False  # OpenAI documents `stream` as "boolean or null"
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be a boolean", param="stream")
    _number_in(body, "temperature", 0, 2)
    _number_in(body, "top_p", 0, 1)
    _positive_int(body, "max_tokens")
    _positive_int(body, "max_completion_tokens")
    _positive_int(body, "n")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object", param="stream_options")
    wants_usage = bool(options and options.get("include_usage") is True)
    return ChatRequest(body, model.strip(), stream, wants_usage)


def error_body(error: GatewayError) -> dict[str, Any]:
    return {"error": {"message": error.message, "type": error.kind, "param": error.param, "code": error.code}}


def render_error(error: GatewayError) -> bytes:
    return jsonx.dumps(error_body(error))
