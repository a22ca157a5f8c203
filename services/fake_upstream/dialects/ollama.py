"""The fake Ollama chat API (`POST /api/chat`, `GET /api/tags`), as Ollama documents it.

Answers are written the way a current Ollama server writes them: `created_at` timestamps, tool
calls with an `id` (Ollama 0.12.10 on) and their arguments as an object, `done_reason` "stop"
(also after tool calls) or "length", and the counts on the final object. Streams are NDJSON:
partial messages (`done: false`, thinking deltas first, then content, each tool call whole in
its own line), then the final object with `done: true`. `stream` defaults to true.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.fake_upstream.engine import Conversation, FakeAnswer
from services.fake_upstream.serving import bad_request, respond
from shared import jsonx

__all__ = ["WIRE", "read_conversation", "routes"]

_CREATED_AT = "2024-11-07T17:20:00.123456Z"
_MODELS = ("llama3.2:latest", "qwen3:8b", "demo-chat:latest")


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _read_turns(conversation: Conversation, messages: list[dict[str, Any]]) -> None:
    conversation.texts.extend(text for text in (_text(m) for m in messages) if text)
    trailing = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing.append(_text(message))
    conversation.tool_results = list(reversed(trailing))
    for message in reversed(messages):
        if message.get("role") == "user":
            conversation.last_user_text = _text(message)
            images = message.get("images")
            conversation.images = len(images) if isinstance(images, list) else 0
            break


def read_conversation(body: dict[str, Any]) -> Conversation:
    conversation = Conversation(model=str(body.get("model", "")))
    _read_turns(conversation, [m for m in body.get("messages") or () if isinstance(m, dict)])
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            conversation.tools.append((function["name"], function.get("parameters") or {}))
    fmt = body.get("format")
    conversation.json_mode = fmt == "json"
    conversation.json_schema = fmt if isinstance(fmt, dict) else None
    conversation.wants_thinking = body.get("think") not in (None, False)
    options = body.get("options")
    limit = options.get("num_predict") if isinstance(options, dict) else None
    conversation.max_tokens = limit if isinstance(limit, int) and limit > 0 else None
    return conversation


def _calls(answer: FakeAnswer) -> list[dict[str, Any]]:
    calls = []
    for call in answer.tool_calls:
        function: dict[str, Any] = {"name": call.name, "arguments": call.arguments}
        if call.index:
            function = {"index": call.index, **function}  # Go's omitempty leaves out index 0
        calls.append({"id": f"call_{call.key[:8]}", "function": function})
    return calls


def _final(conversation: Conversation, answer: FakeAnswer, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": conversation.model,
        "created_at": _CREATED_AT,
        "message": message,
        "done_reason": "length" if answer.stop == "max_tokens" else "stop",
        "done": True,
        "total_duration": 885_095_291,
        "load_duration": 3_753_500,
        "prompt_eval_count": answer.input_tokens,
        "prompt_eval_duration": 328_493_000,
        "eval_count": answer.output_tokens,
        "eval_duration": 552_222_000,
    }


class _Wire:
    framing = "ndjson"
    stream_media_type = "application/x-ndjson"

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes:
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or ""}
        if answer.thinking:
            message["thinking"] = answer.thinking
        if answer.tool_calls:
            message["tool_calls"] = _calls(answer)
        return jsonx.dumps(_final(conversation, answer, message))

    def frames(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        def line(**delta: Any) -> bytes:
            message = {"role": "assistant", "content": "", **delta}
            body = {"model": conversation.model, "created_at": _CREATED_AT, "message": message, "done": False}
            return jsonx.dumps(body) + b"\n"

        frames = [line(thinking=piece) for piece in answer.thinking_pieces]
        frames += [line(content=piece) for piece in answer.text_pieces]
        frames += [line(tool_calls=[call]) for call in _calls(answer)]
        final = _final(conversation, answer, {"role": "assistant", "content": ""})
        frames.append(jsonx.dumps(final) + b"\n")
        return frames

    def error(self, status: int, message: str) -> bytes:
        return jsonx.dumps({"error": message})

    def stream_error(self, message: str) -> bytes:
        return jsonx.dumps({"error": message}) + b"\n"


WIRE = _Wire()


async def chat(request: web.Request) -> web.StreamResponse:
    try:
        body = jsonx.loads(await request.read())
    except jsonx.JSONDecodeError:
        return bad_request(WIRE, "invalid character in request body")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        return bad_request(WIRE, "model is required")
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        return bad_request(WIRE, "messages must be an array")
    if not messages:  # an empty conversation only loads the model
        loaded = {
            "model": body["model"],
            "created_at": _CREATED_AT,
            "message": {"role": "assistant", "content": ""},
            "done_reason": "load",
            "done": True,
        }
        return web.Response(body=jsonx.dumps(loaded), content_type="application/json")
    stream = body.get("stream") is not False  # Ollama streams unless told otherwise
    return await respond(request, WIRE, read_conversation(body), stream)


async def tags(_: web.Request) -> web.Response:
    models = [
        {
            "name": name,
            "model": name,
            "modified_at": "2024-11-07T17:20:00.123456Z",
            "size": 2_019_393_189,
            "digest": f"{index:064x}",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        }
        for index, name in enumerate(_MODELS)
    ]
    return web.Response(body=jsonx.dumps({"models": models}), content_type="application/json")


def routes() -> list[web.RouteDef]:
    return [web.post("/api/chat", chat), web.get("/api/tags", tags)]
