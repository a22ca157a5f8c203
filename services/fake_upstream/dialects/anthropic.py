"""The fake Anthropic Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`), as Anthropic documents it.

Answers are Message objects (thinking with a signature first when `thinking` is enabled or
adaptive, then text or tool_use blocks); streams are the named SSE events message_start,
content_block_start / content_block_delta / content_block_stop per block (a ping after the first
start), message_delta and message_stop; in-band errors are `event: error`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.fake_upstream.engine import Conversation, FakeAnswer, is_fake_signature
from services.fake_upstream.serving import bad_request, respond, text_of
from shared import jsonx

__all__ = ["WIRE", "model_list", "read_conversation", "routes"]

_STOP = {"end": "end_turn", "max_tokens": "max_tokens", "tool_use": "tool_use"}
_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _blocks(content: Any) -> list[dict[str, Any]]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _result_texts(message: dict[str, Any]) -> list[str]:
    return [text_of(b.get("content")) for b in _blocks(message.get("content")) if b.get("type") == "tool_result"]


def _read_turns(conversation: Conversation, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        for text in (text_of(message.get("content")), *_result_texts(message)):
            if text:
                conversation.texts.append(text)
    if messages and messages[-1].get("role") == "user":
        conversation.tool_results = _result_texts(messages[-1])
    for message in reversed(messages):
        text = text_of(message.get("content"))
        if message.get("role") == "user" and text:
            conversation.last_user_text = text
            conversation.images = sum(1 for b in _blocks(message.get("content")) if b.get("type") == "image")
            break


def _thinking_refusal(messages: list[dict[str, Any]]) -> str | None:
    """With thinking on, the last assistant turn that called tools must start with its signed thinking."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") != "assistant":
            continue
        blocks = _blocks(messages[index].get("content"))
        if not any(b.get("type") == "tool_use" for b in blocks):
            return None
        first = blocks[0] if blocks else {}
        if first.get("type") == "redacted_thinking":
            return None
        if first.get("type") != "thinking":
            return (
                f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                f"`{first.get('type')}`. When `thinking` is enabled, a final `assistant` message must start "
                "with a thinking block."
            )
        if not is_fake_signature(first.get("signature"), str(first.get("thinking", ""))):
            return f"messages.{index}.content.0: Invalid `signature` in `thinking` block"
        return None
    return None


def read_conversation(body: dict[str, Any]) -> Conversation:
    conversation = Conversation(model=str(body.get("model", "")))
    system = text_of(body.get("system"))
    if system:
        conversation.texts.append(system)
    _read_turns(conversation, [m for m in body.get("messages", []) if isinstance(m, dict)])
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and tool.get("type") in (None, "custom") and isinstance(tool.get("name"), str):
            conversation.tools.append((tool["name"], tool.get("input_schema") or {}))
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        conversation.json_schema = fmt.get("schema") or {}
    thinking = body.get("thinking")
    conversation.wants_thinking = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    if conversation.wants_thinking:
        conversation.refusal = _thinking_refusal([m for m in body.get("messages", []) if isinstance(m, dict)])
    limit = body.get("max_tokens")
    conversation.max_tokens = limit if isinstance(limit, int) else None
    return conversation


def _usage(answer: FakeAnswer, output_tokens: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": answer.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": answer.output_tokens if output_tokens is None else output_tokens,
    }
    if answer.reasoning_tokens and output_tokens is None:
        usage["output_tokens_details"] = {"thinking_tokens": answer.reasoning_tokens}
    return usage


def _content(answer: FakeAnswer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if answer.thinking:
        blocks.append({"type": "thinking", "thinking": answer.thinking, "signature": answer.signature or ""})
    if answer.text is not None:
        blocks.append({"type": "text", "text": answer.text})
    blocks += [
        {"type": "tool_use", "id": f"toolu_{c.key}", "name": c.name, "input": c.arguments} for c in answer.tool_calls
    ]
    return blocks


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + jsonx.dumps({"type": name, **payload}) + b"\n\n"


def _block_frames(index: int, block: dict[str, Any], answer: FakeAnswer) -> list[bytes]:
    kind = block["type"]
    if kind == "thinking":
        opening: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in answer.thinking_pieces]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        opening = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in answer.text_pieces]
    else:
        opening = {**block, "input": {}}
        arguments = jsonx.dumps_str(block["input"])
        middle = len(arguments) // 2
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in ("", arguments[:middle], arguments[middle:])]
    frames = [_event("content_block_start", {"index": index, "content_block": opening})]
    if index == 0:
        frames.append(b'event: ping\ndata: {"type": "ping"}\n\n')
    frames += [_event("content_block_delta", {"index": index, "delta": delta}) for delta in deltas]
    frames.append(_event("content_block_stop", {"index": index}))
    return frames


class _Wire:
    framing = "sse"
    stream_media_type = "text/event-stream"

    def _message(self, conversation: Conversation, answer: FakeAnswer) -> dict[str, Any]:
        return {
            "id": f"msg_{answer.key[:24]}",
            "type": "message",
            "role": "assistant",
            "model": conversation.model,
            "content": _content(answer),
            "stop_reason": _STOP[answer.stop],
            "stop_sequence": None,
            "usage": _usage(answer),
        }

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes:
        return jsonx.dumps(self._message(conversation, answer))

    def frames(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        message = self._message(conversation, answer)
        opening = {**message, "content": [], "stop_reason": None, "usage": _usage(answer, output_tokens=1)}
        frames = [_event("message_start", {"message": opening})]
        for index, block in enumerate(message["content"]):
            frames += _block_frames(index, block, answer)
        usage: dict[str, Any] = {"output_tokens": answer.output_tokens}
        if answer.reasoning_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": answer.reasoning_tokens}
        delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        frames.append(_event("message_delta", {"delta": delta, "usage": usage}))
        frames.append(_event("message_stop", {}))
        return frames

    def error(self, status: int, message: str) -> bytes:
        kind = _ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return jsonx.dumps({"type": "error", "error": {"type": kind, "message": message}})

    def stream_error(self, message: str) -> bytes:
        return _event("error", {"error": {"type": "api_error", "message": message}})


WIRE = _Wire()


class _CountWire(_Wire):
    """`/v1/messages/count_tokens`: the prompt's size, with the same faults as a message."""

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes:
        return jsonx.dumps({"input_tokens": answer.input_tokens})


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = jsonx.loads(await request.read())
    except jsonx.JSONDecodeError:
        return bad_request(WIRE, "The request body is not valid JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return bad_request(WIRE, "messages: Field required")
    if not isinstance(body.get("model"), str):
        return bad_request(WIRE, "model: Field required")
    return body


async def messages(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    if not isinstance(body.get("max_tokens"), int):
        return bad_request(WIRE, "max_tokens: Field required")
    return await respond(request, WIRE, read_conversation(body), body.get("stream") is True)


async def count_tokens(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    return await respond(request, _CountWire(), read_conversation(body), False)


_LISTED = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5")


def model_list() -> web.Response:
    """Anthropic's `GET /v1/models` answer (served on the path OpenAI's list shares, by `anthropic-version`)."""
    data = [
        {"type": "model", "id": m, "display_name": m.replace("-", " ").title(), "created_at": "2025-09-29T00:00:00Z"}
        for m in _LISTED
    ]
    body = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return web.Response(body=jsonx.dumps(body), content_type="application/json")


def routes() -> list[web.RouteDef]:
    return [web.post("/v1/messages", messages), web.post("/v1/messages/count_tokens", count_tokens)]
