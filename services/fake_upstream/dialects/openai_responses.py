"""The fake OpenAI Responses API (`POST /v1/responses`), as OpenAI documents and streams it.

Thinking is a reasoning item: its summary as one `summary_text` part and, as OpenAI returns it
to stateless callers, an `encrypted_content` blob (deterministic here). Streams are named SSE
events, each with `type` and a `sequence_number` from 0, ending with `response.completed` (or
`response.incomplete` when `max_output_tokens` cut the answer).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.fake_upstream.engine import Conversation, FakeAnswer
from services.fake_upstream.serving import bad_request, respond, text_of
from shared import jsonx

__all__ = ["WIRE", "read_conversation", "routes"]

_CREATED = 1_731_000_000


def _item_type(item: dict[str, Any]) -> str:
    return str(item.get("type") or ("message" if "role" in item else ""))


def _read_items(conversation: Conversation, items: list[dict[str, Any]]) -> None:
    for item in items:
        kind = _item_type(item)
        text = text_of(item.get("content")) if kind == "message" else ""
        if kind == "function_call_output":
            text = text_of(item.get("output"))
        if text:
            conversation.texts.append(text)
    trailing = []
    for item in reversed(items):
        if _item_type(item) != "function_call_output":
            break
        trailing.append(text_of(item.get("output")))
    conversation.tool_results = list(reversed(trailing))
    for item in reversed(items):
        if _item_type(item) == "message" and item.get("role") == "user":
            content = item.get("content")
            conversation.last_user_text = text_of(content)
            if isinstance(content, list):
                conversation.images = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "input_image")
            break


def read_conversation(body: dict[str, Any]) -> Conversation:
    conversation = Conversation(model=str(body.get("model", "")))
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        conversation.texts.append(body["instructions"])
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    _read_items(conversation, [item for item in items if isinstance(item, dict)])
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("name"), str):
            conversation.tools.append((tool["name"], tool.get("parameters") or {}))
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict):
        conversation.json_mode = fmt.get("type") == "json_object"
        if fmt.get("type") == "json_schema":
            conversation.json_schema = fmt.get("schema") or {}
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    conversation.wants_thinking = effort not in (None, "none", "minimal")
    limit = body.get("max_output_tokens")
    conversation.max_tokens = limit if isinstance(limit, int) else None
    return conversation


def _usage(answer: FakeAnswer) -> dict[str, Any]:
    return {
        "input_tokens": answer.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": answer.output_tokens,
        "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens},
        "total_tokens": answer.input_tokens + answer.output_tokens,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _reasoning(answer: FakeAnswer) -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": answer.thinking}] if answer.thinking else []
    encrypted = "gAAAAAB" + (answer.signature or "").removeprefix("sig_")
    return {"id": f"rs_{answer.key[:24]}", "type": "reasoning", "encrypted_content": encrypted, "summary": summary}


def _message(answer: FakeAnswer, status: str) -> dict[str, Any]:
    ident, content = f"msg_{answer.key[:24]}", [_text_part(answer.text or "")]
    return {"id": ident, "type": "message", "status": status, "content": content, "role": "assistant"}


def _call(answer: FakeAnswer, index: int, arguments: str, status: str = "completed") -> dict[str, Any]:
    call = answer.tool_calls[index]
    return {
        "id": f"fc_{call.key}",
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": f"call_{call.key}",
        "name": call.name,
    }


def _output(answer: FakeAnswer) -> list[dict[str, Any]]:
    items = [_reasoning(answer)] if answer.thinking else []
    if answer.text is not None:
        items.append(_message(answer, "incomplete" if answer.stop == "max_tokens" else "completed"))
    items += [_call(answer, i, call.arguments_json) for i, call in enumerate(answer.tool_calls)]
    return items


def _response(conversation: Conversation, answer: FakeAnswer, status: str, output: list[Any]) -> dict[str, Any]:
    done = status != "in_progress"
    truncated = done and answer.stop == "max_tokens"
    return {
        "id": f"resp_{answer.key[:32]}",
        "object": "response",
        "created_at": _CREATED,
        "status": "incomplete" if truncated else status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
        "instructions": None,
        "max_output_tokens": conversation.max_tokens,
        "model": conversation.model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": "auto"}
        if conversation.wants_thinking
        else {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _usage(answer) if done else None,
        "user": None,
        "metadata": {},
    }


class _Events:
    """Numbered named events, as the API writes them."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def add(self, kind: str, **payload: Any) -> None:
        body = {"type": kind, "sequence_number": len(self.frames), **payload}
        self.frames.append(b"event: " + kind.encode() + b"\ndata: " + jsonx.dumps(body) + b"\n\n")


def _stream_reasoning(events: _Events, answer: FakeAnswer, index: int) -> None:
    item = _reasoning(answer)
    events.add("response.output_item.added", output_index=index, item={**item, "summary": []})
    at = {"item_id": item["id"], "output_index": index, "summary_index": 0}
    events.add("response.reasoning_summary_part.added", **at, part={"type": "summary_text", "text": ""})
    for piece in answer.thinking_pieces:
        events.add("response.reasoning_summary_text.delta", **at, delta=piece)
    events.add("response.reasoning_summary_text.done", **at, text=answer.thinking)
    events.add("response.reasoning_summary_part.done", **at, part=item["summary"][0])
    events.add("response.output_item.done", output_index=index, item=item)


def _stream_message(events: _Events, answer: FakeAnswer, index: int) -> None:
    item = _message(answer, "incomplete" if answer.stop == "max_tokens" else "completed")
    events.add("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
    at = {"item_id": item["id"], "output_index": index, "content_index": 0}
    events.add("response.content_part.added", **at, part=_text_part(""))
    for piece in answer.text_pieces:
        events.add("response.output_text.delta", **at, delta=piece, logprobs=[])
    events.add("response.output_text.done", **at, text=answer.text, logprobs=[])
    events.add("response.content_part.done", **at, part=_text_part(answer.text or ""))
    events.add("response.output_item.done", output_index=index, item=item)


def _stream_call(events: _Events, answer: FakeAnswer, call: int, index: int) -> None:
    arguments = answer.tool_calls[call].arguments_json
    events.add("response.output_item.added", output_index=index, item=_call(answer, call, "", "in_progress"))
    item_id = f"fc_{answer.tool_calls[call].key}"
    middle = len(arguments) // 2
    for piece in (arguments[:middle], arguments[middle:]):
        events.add("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
    events.add("response.function_call_arguments.done", item_id=item_id, output_index=index, arguments=arguments)
    events.add("response.output_item.done", output_index=index, item=_call(answer, call, arguments))


class _Wire:
    framing = "sse"
    stream_media_type = "text/event-stream"

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes:
        return jsonx.dumps(_response(conversation, answer, "completed", _output(answer)))

    def frames(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        events = _Events()
        snapshot = _response(conversation, answer, "in_progress", [])
        events.add("response.created", response=snapshot)
        events.add("response.in_progress", response=snapshot)
        index = 0
        if answer.thinking:
            _stream_reasoning(events, answer, index)
            index += 1
        if answer.text is not None:
            _stream_message(events, answer, index)
            index += 1
        for call in range(len(answer.tool_calls)):
            _stream_call(events, answer, call, index + call)
        final = _response(conversation, answer, "completed", _output(answer))
        events.add("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)
        return events.frames

    def error(self, status: int, message: str) -> bytes:
        kind = {429: "rate_limit_error", 401: "authentication_error", 404: "invalid_request_error"}.get(
            status, "invalid_request_error" if status < 500 else "server_error"
        )
        return jsonx.dumps({"error": {"message": message, "type": kind, "param": None, "code": str(status)}})

    def stream_error(self, message: str) -> bytes:
        # The sequence number of an injected error is not known here; OpenAI's event has one.
        body = {"type": "error", "code": "server_error", "message": message, "param": None}
        return b"event: error\ndata: " + jsonx.dumps(body) + b"\n\n"


WIRE = _Wire()


async def create_response(request: web.Request) -> web.StreamResponse:
    try:
        body = jsonx.loads(await request.read())
    except jsonx.JSONDecodeError:
        return bad_request(WIRE, "We could not parse the JSON body of your request.")
    if not isinstance(body, dict) or not isinstance(body.get("input"), str | list):
        return bad_request(WIRE, "Missing required parameter: 'input'.")
    return await respond(request, WIRE, read_conversation(body), body.get("stream") is True)


def routes() -> list[web.RouteDef]:
    return [web.post("/v1/responses", create_response), web.post("/responses", create_response)]
