"""The fake OpenAI Chat Completions API (`POST /v1/chat/completions`), as OpenAI documents it.

Thinking is written the way OpenAI-compatible reasoning models (DeepSeek) do: `reasoning_content`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.fake_upstream.dialects import anthropic
from services.fake_upstream.engine import Conversation, FakeAnswer
from services.fake_upstream.serving import bad_request, respond, text_of
from shared import jsonx

__all__ = ["WIRE", "read_conversation", "routes"]

_FINISH = {"end": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def _read_turns(conversation: Conversation, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        text = text_of(message.get("content"))
        if text:
            conversation.texts.append(text)
    trailing = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing.append(text_of(message.get("content")))
    conversation.tool_results = list(reversed(trailing))
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            conversation.last_user_text = text_of(content)
            if isinstance(content, list):
                conversation.images = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
            break


def read_conversation(body: dict[str, Any]) -> Conversation:
    conversation = Conversation(model=str(body.get("model", "")))
    _read_turns(conversation, [m for m in body.get("messages", []) if isinstance(m, dict)])
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            conversation.tools.append((function["name"], function.get("parameters") or {}))
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        conversation.json_mode = fmt.get("type") == "json_object"
        if fmt.get("type") == "json_schema" and isinstance(fmt.get("json_schema"), dict):
            conversation.json_schema = fmt["json_schema"].get("schema") or {}
    conversation.wants_thinking = body.get("reasoning_effort") not in (None, "none", "minimal")
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    conversation.max_tokens = limit if isinstance(limit, int) else None
    return conversation


def _usage(answer: FakeAnswer) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": answer.reasoning_tokens, "audio_tokens": 0},
    }


def _calls(answer: FakeAnswer) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{c.key}", "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
        for c in answer.tool_calls
    ]


class _Wire:
    framing = "sse"
    stream_media_type = "text/event-stream"

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes:
        message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
        if answer.thinking:
            message["reasoning_content"] = answer.thinking
        if answer.tool_calls:
            message["tool_calls"] = _calls(answer)
        return jsonx.dumps(
            {
                "id": f"chatcmpl-{answer.key[:24]}",
                "object": "chat.completion",
                "created": 1_731_000_000,
                "model": conversation.model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _FINISH[answer.stop]}],
                "usage": _usage(answer),
                "system_fingerprint": "fp_fake",
            }
        )

    def frames(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        base = {
            "id": f"chatcmpl-{answer.key[:24]}",
            "object": "chat.completion.chunk",
            "created": 1_731_000_000,
            "model": conversation.model,
            "system_fingerprint": "fp_fake",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            body = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            body["usage"] = None
            return b"data: " + jsonx.dumps(body) + b"\n\n"

        frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
        frames += [chunk({"reasoning_content": piece}) for piece in answer.thinking_pieces]
        frames += [chunk({"content": piece}) for piece in answer.text_pieces]
        for call in _calls(answer):
            index = len([f for f in frames if b'"tool_calls"' in f and b'"id"' in f])
            opening = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            frames.append(chunk({"tool_calls": [opening]}))
            arguments = call["function"]["arguments"]
            middle = len(arguments) // 2
            for piece in (arguments[:middle], arguments[middle:]):
                frames.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        frames.append(chunk({}, _FINISH[answer.stop]))
        frames.append(b"data: " + jsonx.dumps({**base, "choices": [], "usage": _usage(answer)}) + b"\n\n")
        frames.append(b"data: [DONE]\n\n")
        return frames

    def error(self, status: int, message: str) -> bytes:
        kind = {429: "rate_limit_error", 401: "authentication_error", 404: "invalid_request_error"}.get(
            status, "api_error"
        )
        return jsonx.dumps({"error": {"message": message, "type": kind, "param": None, "code": str(status)}})

    def stream_error(self, message: str) -> bytes:
        return b"data: " + jsonx.dumps({"error": {"message": message, "type": "server_error"}}) + b"\n\n"


WIRE = _Wire()


async def chat_completions(request: web.Request) -> web.StreamResponse:
    try:
        body = jsonx.loads(await request.read())
    except jsonx.JSONDecodeError:
        return bad_request(WIRE, "We could not parse the JSON body of your request.")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return bad_request(WIRE, "'messages' is a required property")
    options = body.get("stream_options")
    conversation = read_conversation(body)
    stream = body.get("stream") is True
    if stream and not (isinstance(options, dict) and options.get("include_usage") is True):
        return await respond(request, _WithoutUsage(), conversation, stream)
    return await respond(request, WIRE, conversation, stream)


class _WithoutUsage(_Wire):
    """A stream without the usage chunk, as OpenAI sends when include_usage was not asked for."""

    def frames(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        return [
            f.replace(b',"usage":null', b"") for f in super().frames(conversation, answer) if b'"choices":[]' not in f
        ]


async def list_models(request: web.Request) -> web.Response:
    if "anthropic-version" in request.headers:
        return anthropic.model_list()
    data = [
        {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
        for m in ("gpt-4o-mini", "gpt-4o", "demo-chat")
    ]
    return web.Response(body=jsonx.dumps({"object": "list", "data": data}), content_type="application/json")


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/chat/completions", chat_completions),
        web.post("/chat/completions", chat_completions),
        web.get("/v1/models", list_models),
        web.get("/models", list_models),
    ]
