"""The fake Gemini API (`POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
`:countTokens`, also under `/v1/`), as Google documents it.

Answers are written the way Gemini 2.5 models write them: thought summaries as `"thought": true`
parts (when `thinkingConfig.includeThoughts` is set), function calls without ids and with the
`thoughtSignature` on the first call only, and for an answer without calls the signature on the
last part (in a stream: a final part with empty text). Streams (`?alt=sse`) are `data:` events
separated by CRLF CRLF, `usageMetadata` on every event (the full counts on the last, which carries
`finishReason`) and no terminal `[DONE]`. Without `alt=sse` the stream is one JSON array.
Request fields are read in either spelling Google accepts (`inlineData` or `inline_data`).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from services.fake_upstream.engine import Conversation, FakeAnswer, is_fake_signature
from services.fake_upstream.serving import bad_request, respond
from shared import jsonx

__all__ = ["WIRE", "read_conversation", "routes"]

_FINISH = {"end": "STOP", "max_tokens": "MAX_TOKENS", "tool_use": "STOP"}
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_SNAKE = re.compile(r"(?<=[a-z0-9])_([a-z0-9])")
_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash")


def _camel(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {_SNAKE.sub(lambda m: m.group(1).upper(), str(key)): item for key, item in value.items()}


def _parts(content: Any) -> list[dict[str, Any]]:
    parts = _camel(content).get("parts")
    return [_camel(p) for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _response_text(part: dict[str, Any]) -> str:
    response = _camel(part.get("functionResponse")).get("response")
    if isinstance(response, dict) and len(response) == 1:
        value = next(iter(response.values()))
        return value if isinstance(value, str) else jsonx.dumps_str(value)
    return jsonx.dumps_str(response) if response is not None else ""


def _lower_types(schema: Any) -> Any:
    """Gemini `Schema` objects may spell types in upper case (OBJECT); the engine reads JSON Schema."""
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _lower_types(value) for key, value in schema.items() if key != "properties"}
    if isinstance(schema.get("type"), str):
        out["type"] = schema["type"].lower()
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {name: _lower_types(value) for name, value in schema["properties"].items()}
    return out


def _read_turns(conversation: Conversation, contents: list[Any]) -> None:
    turns = [(_camel(c).get("role") or "user", _parts(c)) for c in contents if isinstance(c, dict)]
    for _, parts in turns:
        conversation.texts += [p["text"] for p in parts if isinstance(p.get("text"), str) and p["text"]]
        conversation.texts += [_response_text(p) for p in parts if "functionResponse" in p]
    if turns and turns[-1][0] != "model":
        conversation.tool_results = [_response_text(p) for p in turns[-1][1] if "functionResponse" in p]
    for role, parts in reversed(turns):
        texts = [p["text"] for p in parts if isinstance(p.get("text"), str)]
        if role != "model" and texts:
            conversation.last_user_text = " ".join(texts)
            conversation.images = sum(1 for p in parts if "inlineData" in p or "fileData" in p)
            break


def read_conversation(body: dict[str, Any]) -> Conversation:
    """The engine's view of a request; the model comes from the URL and is set by the route."""
    fields = _camel(body)
    conversation = Conversation(model=str(fields.get("model", "")).removeprefix("models/"))
    system = [p["text"] for p in _parts(fields.get("systemInstruction")) if isinstance(p.get("text"), str)]
    conversation.texts += system
    contents = fields.get("contents")
    _read_turns(conversation, contents if isinstance(contents, list) else [])
    for tool in fields.get("tools") or ():
        for raw in _camel(tool).get("functionDeclarations") or ():
            declaration = _camel(raw)
            if isinstance(declaration.get("name"), str):
                schema = declaration.get("parametersJsonSchema") or _lower_types(declaration.get("parameters")) or {}
                conversation.tools.append((declaration["name"], schema))
    config = _camel(fields.get("generationConfig"))
    conversation.json_mode = config.get("responseMimeType") == "application/json"
    schema = config.get("responseJsonSchema") or _lower_types(config.get("responseSchema"))
    conversation.json_schema = schema if isinstance(schema, dict) else None
    conversation.wants_thinking = _camel(config.get("thinkingConfig")).get("includeThoughts") is True
    limit = config.get("maxOutputTokens")
    conversation.max_tokens = limit if isinstance(limit, int) else None
    return conversation


def _usage(answer: FakeAnswer, final: bool = True) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": answer.input_tokens}
    if final:
        usage["candidatesTokenCount"] = answer.output_tokens - answer.reasoning_tokens
    usage["totalTokenCount"] = answer.input_tokens + (answer.output_tokens if final else 0)
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": answer.input_tokens}]
    if final and answer.reasoning_tokens:
        usage["thoughtsTokenCount"] = answer.reasoning_tokens
    return usage


def _calls(answer: FakeAnswer) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    for call in answer.tool_calls:
        part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.arguments}}
        if call.index == 0 and answer.signature:
            part["thoughtSignature"] = answer.signature
        calls.append(part)
    return calls


def _response(conversation: Conversation, answer: FakeAnswer, parts: list[dict[str, Any]], **extra: Any) -> bytes:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, **extra}
    body = {
        "candidates": [candidate],
        "usageMetadata": _usage(answer, final="finishReason" in extra),
        "modelVersion": conversation.model,
        "responseId": answer.key[:22],
    }
    return jsonx.dumps(body)


class _Wire:
    framing = "sse"
    stream_media_type = "text/event-stream"

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes:
        parts: list[dict[str, Any]] = [{"text": answer.thinking, "thought": True}] if answer.thinking else []
        if answer.text:
            parts.append({"text": answer.text})
        parts += _calls(answer)
        if answer.signature and not answer.tool_calls:
            parts[-1]["thoughtSignature"] = answer.signature
        return _response(conversation, answer, parts, finishReason=_FINISH[answer.stop], index=0)

    def chunks(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        chunks = [_response(conversation, answer, [{"text": p, "thought": True}]) for p in answer.thinking_pieces]
        chunks += [_response(conversation, answer, [{"text": piece}]) for piece in answer.text_pieces]
        last: list[dict[str, Any]] = _calls(answer)
        if answer.signature and not answer.tool_calls:
            last = [{"text": "", "thoughtSignature": answer.signature}]
        elif not last:
            last = [{"text": ""}]
        chunks.append(_response(conversation, answer, last, finishReason=_FINISH[answer.stop]))
        return chunks

    def frames(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        return [b"data: " + chunk + b"\r\n\r\n" for chunk in self.chunks(conversation, answer)]

    def error(self, status: int, message: str) -> bytes:
        name = _STATUS.get(status, "INVALID_ARGUMENT" if status < 500 else "INTERNAL")
        body: dict[str, Any] = {"code": status, "message": message, "status": name}
        if status == 429:
            body["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]
        return jsonx.dumps({"error": body})

    def stream_error(self, message: str) -> bytes:
        error = {"code": 500, "message": message, "status": "INTERNAL"}
        return b"data: " + jsonx.dumps({"error": error}) + b"\r\n\r\n"


WIRE = _Wire()


class _ArrayWire(_Wire):
    """`streamGenerateContent` without `alt=sse`: the chunks as one JSON array."""

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes:
        return b"[" + b",\r\n".join(WIRE.chunks(conversation, answer)) + b"]"


def _count_tokens(body: dict[str, Any], model: str) -> web.Response:
    fields = _camel(body)
    inner = _camel(fields.get("generateContentRequest"))
    conversation = read_conversation({**inner, "model": model} if inner else {**fields, "model": model})
    total = sum(len(text.split()) + 3 for text in conversation.texts)
    details = [{"modality": "TEXT", "tokenCount": total}]
    return web.Response(
        body=jsonx.dumps({"totalTokens": total, "promptTokensDetails": details}), content_type="application/json"
    )


def _signature_refusal(contents: Any, model: str) -> str | None:
    """Gemini 3 refuses a model turn whose first function call comes back without its thoughtSignature."""
    if "gemini-3" not in model or not isinstance(contents, list):
        return None
    for content in reversed(contents):
        turn = _camel(content)
        if turn.get("role") != "model":
            continue
        calls = [_camel(p) for p in _parts(turn) if "functionCall" in _camel(p)]
        if calls and not is_fake_signature(calls[0].get("thoughtSignature")):
            return "Function call is missing a thought_signature in functionCall parts."
        return None
    return None


async def models_post(request: web.Request) -> web.StreamResponse:
    model, _, method = request.match_info["target"].rpartition(":")
    if method not in ("generateContent", "streamGenerateContent", "countTokens") or not model:
        body = WIRE.error(404, f"Method '{method}' is not found for this model.")
        return web.Response(status=404, body=body, content_type="application/json")
    try:
        body = jsonx.loads(await request.read())
    except jsonx.JSONDecodeError:
        return bad_request(WIRE, "Invalid JSON payload received.")
    if not isinstance(body, dict):
        return bad_request(WIRE, "Invalid JSON payload received.")
    if method == "countTokens":
        return _count_tokens(body, model)
    if not isinstance(_camel(body).get("contents"), list):
        return bad_request(WIRE, "* GenerateContentRequest.contents: contents is not specified\n")
    conversation = read_conversation(body)
    conversation.model = model
    conversation.refusal = _signature_refusal(_camel(body).get("contents"), model)
    if method == "generateContent":
        return await respond(request, WIRE, conversation, stream=False)
    if request.query.get("alt") == "sse":
        return await respond(request, WIRE, conversation, stream=True)
    return await respond(request, _ArrayWire(), conversation, stream=False)


async def list_models(_: web.Request) -> web.Response:
    models = [
        {
            "name": f"models/{name}",
            "displayName": name,
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        }
        for name in _MODELS
    ]
    return web.Response(body=jsonx.dumps({"models": models}), content_type="application/json")


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1beta/models/{target}", models_post),
        web.post("/v1/models/{target}", models_post),
        web.get("/v1beta/models", list_models),
    ]
