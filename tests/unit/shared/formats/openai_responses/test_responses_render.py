"""OpenAI Responses, client side: the frames the stream renderer writes, Failures included."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text, Thinking, ToolCall
from shared.canonical.errors import RateLimited, UpstreamError
from shared.canonical.events import (
    ArgumentsDelta,
    BlockStart,
    BlockStop,
    Failure,
    Finish,
    SignatureDelta,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UsageUpdate,
    explode,
    fold,
)
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.openai_responses import DIALECT
from shared.formats.openai_responses.parse_stream import ResponsesStreamParser
from shared.formats.openai_responses.render_stream import ResponsesStreamRenderer
from shared.sse import SSEParser

REQUEST = ChatRequest(model="client-model", messages=(Message("user", (Text("hi"),)),), stream=True)


def client_frames(wire: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    parser = SSEParser()
    return [(event.event, jsonx.loads(event.data)) for event in parser.feed(wire) + parser.close()]


def render(events: list[StreamEvent], request: ChatRequest = REQUEST) -> bytes:
    renderer = ResponsesStreamRenderer(request)
    return b"".join(renderer.render(event) for event in events)


def test_every_event_is_named_after_its_type_and_numbered_from_zero() -> None:
    result = ChatResult(id="resp_1", model="m", content=(Thinking(text="t"), Text("x"), ToolCall(id="c", name="f")))
    frames = client_frames(render(explode(result)))
    assert all(name == body["type"] for name, body in frames)
    assert [body["sequence_number"] for _, body in frames] == list(range(len(frames)))
    assert frames[0][0] == "response.created"
    assert frames[-1][0] == "response.completed"


def test_failure_renders_error_then_failed_and_never_completed() -> None:
    wire = render(
        [
            Start("resp_1", "m"),
            BlockStart(0, "text"),
            TextDelta(0, "Hel"),
            Failure(UpstreamError("boom", code="stream_interrupted")),
        ]
    )
    frames = client_frames(wire)
    assert [name for name, _ in frames][-2:] == ["error", "response.failed"]
    error = frames[-2][1]
    assert (error["code"], error["message"], error["param"]) == ("stream_interrupted", "boom", None)
    failed = frames[-1][1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "boom"}
    assert b"response.completed" not in wire


def test_failure_before_start_still_opens_the_response() -> None:
    frames = client_frames(render([Failure(RateLimited("slow down"))]))
    assert [name for name, _ in frames] == ["response.created", "response.in_progress", "error", "response.failed"]
    assert frames[-1][1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_nothing_is_rendered_after_the_end() -> None:
    renderer = ResponsesStreamRenderer(REQUEST)
    renderer.render(Start("r", "m"))
    renderer.render(Finish("end"))
    assert renderer.render(BlockStart(0, "text")) == b""
    assert renderer.render(Failure(UpstreamError("late"))) == b""


def test_a_thinking_block_and_the_opaque_block_after_it_are_one_reasoning_item() -> None:
    events: list[StreamEvent] = [
        Start("resp_1", "m"),
        BlockStart(0, "thinking"),
        ThinkingDelta(0, "plan"),
        SignatureDelta(0, "sig"),
        BlockStop(0),
        BlockStart(1, "thinking", redacted="gAAA"),
        BlockStop(1),
        BlockStart(2, "tool_call", tool_call_id="c", tool_name="f"),
        ArgumentsDelta(2, "{}"),
        BlockStop(2),
        UsageUpdate(Usage(input_tokens=1, output_tokens=2, reported=True)),
        Finish("tool_use"),
    ]
    frames = client_frames(render(events))
    done_items = [body["item"] for name, body in frames if name == "response.output_item.done"]
    assert done_items[0] == {
        "id": "rs_1_0",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "plan"}],
        "encrypted_content": "gAAA",
    }
    final = frames[-1][1]["response"]
    assert final["output"][0] == done_items[0]
    assert final["usage"]["total_tokens"] == 3
    assert fold(parse(render(events))) == ChatResult(
        id="resp_1",
        model="m",
        content=(Thinking(text="plan"), Thinking(redacted="gAAA"), ToolCall(id="c", name="f", arguments="{}")),
        stop_reason="tool_use",
        usage=Usage(input_tokens=1, output_tokens=2, reported=True),
    )


def parse(wire: bytes) -> list[StreamEvent]:
    parser = ResponsesStreamParser()
    sse = SSEParser()
    return [event for f in sse.feed(wire) + sse.close() for event in parser.parse(f)] + parser.end()


@pytest.mark.parametrize(
    ("stop", "terminal", "reason"),
    [
        ("max_tokens", "response.incomplete", "max_output_tokens"),
        ("content_filter", "response.incomplete", "content_filter"),
        ("end", "response.completed", None),
    ],
)
def test_terminal_event_follows_the_stop_reason(stop: Any, terminal: str, reason: str | None) -> None:
    frames = client_frames(render(explode(ChatResult(id="r", model="m", content=(Text("x"),), stop_reason=stop))))
    name, body = frames[-1]
    assert name == terminal
    assert body["response"]["incomplete_details"] == ({"reason": reason} if reason else None)


def test_request_options_are_echoed_in_the_response() -> None:
    request = ChatRequest(
        model="c", messages=REQUEST.messages, max_tokens=9, temperature=0.4, user="u", metadata={"k": "v"}
    )
    created_response = client_frames(render([Start("r", "m")], request))[0][1]["response"]
    assert (created_response["max_output_tokens"], created_response["temperature"]) == (9, 0.4)
    assert (created_response["user"], created_response["metadata"], created_response["status"]) == (
        "u",
        {"k": "v"},
        "in_progress",
    )


def test_round_trip_through_renderer_and_parser() -> None:
    result = ChatResult(
        id="resp_9",
        model="m",
        created=3,
        content=(
            Thinking(redacted="E0"),
            Thinking(text="t"),
            Text("a"),
            Text("b"),
            ToolCall(id="c", name="f", arguments='{"q":1}'),
        ),
        stop_reason="tool_use",
        usage=Usage(input_tokens=3, output_tokens=4, cached_tokens=1, reasoning_tokens=2, reported=True),
    )
    assert fold(parse(render(explode(result)))) == result
    assert DIALECT.parse_result(DIALECT.render_result(result, REQUEST)) == result
