"""OpenAI Responses, provider side: the stream parser's edge cases (endings, errors, interleaving, lenient servers)."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text, Thinking, ToolCall
from shared.canonical.events import (
    BlockStart,
    Failure,
    Finish,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    fold,
)
from shared.canonical.usage import Usage
from shared.formats.openai_responses.parse_stream import ResponsesStreamParser
from shared.sse import SSEEvent

REQUEST = ChatRequest(model="client-model", messages=(Message("user", (Text("hi"),)),), stream=True)
RESPONSE = {"id": "resp_1", "object": "response", "created_at": 7, "model": "m", "status": "in_progress", "output": []}


def frame(kind: str, **payload: Any) -> SSEEvent:
    return SSEEvent(kind, jsonx.dumps({"type": kind, **payload}))


def created() -> SSEEvent:
    return frame("response.created", sequence_number=0, response=RESPONSE)


def completed(output: list[Any] | None = None, **fields: Any) -> SSEEvent:
    return frame("response.completed", response={**RESPONSE, "status": "completed", "output": output or [], **fields})


def run(*frames: SSEEvent, end: bool = True) -> list[StreamEvent]:
    parser = ResponsesStreamParser()
    events = [event for f in frames for event in parser.parse(f)]
    return events + (parser.end() if end else [])


def message(index: int, ident: str) -> SSEEvent:
    item = {"id": ident, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
    return frame("response.output_item.added", output_index=index, item=item)


def text(index: int, ident: str, delta: str) -> SSEEvent:
    return frame("response.output_text.delta", item_id=ident, output_index=index, content_index=0, delta=delta)


def done(index: int, item: dict[str, Any]) -> SSEEvent:
    return frame("response.output_item.done", output_index=index, item=item)


def call(index: int, ident: str, call_id: str) -> SSEEvent:
    item = {
        "id": ident,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call_id,
        "name": "f",
    }
    return frame("response.output_item.added", output_index=index, item=item)


def args(index: int, ident: str, delta: str) -> SSEEvent:
    return frame("response.function_call_arguments.delta", item_id=ident, output_index=index, delta=delta)


# --- parser ----------------------------------------------------------------------------------


def test_a_stream_that_stops_before_its_terminal_event_is_interrupted() -> None:
    events = run(created(), message(0, "m1"), text(0, "m1", "Hel"))
    assert isinstance(events[-1], Failure)
    assert events[-1].error.code == "stream_interrupted"
    assert [type(e) for e in events[:-1]] == [Start, BlockStart, TextDelta]


def test_an_empty_stream_is_interrupted() -> None:
    events = ResponsesStreamParser().end()
    assert len(events) == 1
    assert isinstance(events[0], Failure)
    assert events[0].error.code == "stream_interrupted"


def test_done_marker_before_the_terminal_event_is_an_interruption() -> None:
    events = run(created(), SSEEvent(None, b"[DONE]"), completed())
    assert isinstance(events[-1], Failure)
    assert events[-1].error.code == "stream_interrupted"
    assert not any(isinstance(e, Finish) for e in events)


def test_nothing_after_the_terminal_event_counts() -> None:
    events = run(created(), completed(), message(0, "m"), SSEEvent(None, b"[DONE]"), frame("error", message="late"))
    assert [type(e) for e in events] == [Start, Finish]


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            frame("error", sequence_number=3, code="server_error", message="The server had an error", param=None),
            "The server had an error",
        ),
        (frame("error", sequence_number=3, error={"type": "server_error", "message": "nested shape"}), "nested shape"),
        (frame("error", sequence_number=3), "The upstream provider reported an error mid-stream."),
        (
            frame(
                "response.failed",
                response={**RESPONSE, "status": "failed", "error": {"code": "server_error", "message": "Model failed"}},
            ),
            "Model failed",
        ),
        (
            frame("response.failed", response={**RESPONSE, "status": "failed"}),
            "The upstream provider failed to generate a response.",
        ),
    ],
)
def test_in_band_errors_are_failures(failure: SSEEvent, expected: str) -> None:
    events = run(created(), message(0, "m"), text(0, "m", "Hel"), failure, completed())
    assert isinstance(events[-1], Failure)
    assert events[-1].error.message == expected
    assert events[-1].error.code == "upstream_stream_error"
    assert not any(isinstance(e, Finish) for e in events)


def test_secrets_in_upstream_error_text_are_redacted() -> None:
    events = run(created(), frame("error", message="bad key sk-abcdefghijklmnopqrstuvwxyz123456"))
    assert isinstance(events[-1], Failure)
    assert "sk-abcdefghijklmnopqrstuvwxyz123456" not in events[-1].error.message


def test_malformed_event_is_a_failure() -> None:
    events = run(created(), SSEEvent("response.output_text.delta", b"{not json"))
    assert isinstance(events[-1], Failure)
    assert events[-1].error.code == "upstream_stream_error"


def test_interleaved_items_are_emitted_one_after_the_other() -> None:
    events = run(
        created(),
        call(0, "fc_a", "call_a"),
        args(0, "fc_a", '{"x":'),
        call(1, "fc_b", "call_b"),
        args(1, "fc_b", '{"y":2}'),
        args(0, "fc_a", "1}"),
        done(
            1,
            {
                "id": "fc_b",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"y":2}',
                "call_id": "call_b",
                "name": "f",
            },
        ),
        done(
            0,
            {
                "id": "fc_a",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"x":1}',
                "call_id": "call_a",
                "name": "f",
            },
        ),
        completed(),
    )
    result = fold(events)
    assert result.content == (
        ToolCall(id="call_a", name="f", arguments='{"x":1}'),
        ToolCall(id="call_b", name="f", arguments='{"y":2}'),
    )
    assert result.stop_reason == "tool_use"
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [e.index for e in starts] == [0, 1]


def test_items_known_only_when_done_take_their_content_from_the_finished_item() -> None:
    item_text = {
        "id": "m",
        "type": "message",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Hi"}],
        "role": "assistant",
    }
    item_call = {
        "id": "fc",
        "type": "function_call",
        "status": "completed",
        "arguments": '{"a":1}',
        "call_id": "c",
        "name": "f",
    }
    item_reasoning = {
        "id": "rs",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "why"}],
        "encrypted_content": "E",
    }
    events = run(created(), done(0, item_reasoning), done(1, item_text), done(2, item_call), completed())
    assert fold(events).content == (
        Thinking(text="why"),
        Thinking(redacted="E"),
        Text("Hi"),
        ToolCall(id="c", name="f", arguments='{"a":1}'),
    )


def test_deltas_without_an_added_item_still_count() -> None:
    events = run(created(), text(0, "m", "Hi"), completed())
    assert fold(events).content == (Text("Hi"),)


def test_reasoning_parts_are_joined_by_a_blank_line_and_encrypted_content_comes_from_the_done_item() -> None:
    added = {"id": "rs", "type": "reasoning", "encrypted_content": "EARLY", "summary": []}

    def summary(index: int, delta: str) -> SSEEvent:
        return frame(
            "response.reasoning_summary_text.delta", item_id="rs", output_index=0, summary_index=index, delta=delta
        )

    final = {"id": "rs", "type": "reasoning", "encrypted_content": "FINAL", "summary": []}
    events = run(
        created(),
        frame("response.output_item.added", output_index=0, item=added),
        summary(0, "A"),
        summary(0, "a"),
        summary(1, ""),
        summary(1, "B"),
        done(0, final),
        completed(),
    )
    assert fold(events).content == (Thinking(text="Aa\n\nB"), Thinking(redacted="FINAL"))
    assert [e.text for e in events if isinstance(e, ThinkingDelta)] == ["A", "a", "\n\n", "B"]


def test_reasoning_text_deltas_are_thinking() -> None:
    delta = frame("response.reasoning_text.delta", item_id="rs", output_index=0, content_index=0, delta="step")
    events = run(created(), delta, done(0, {"id": "rs", "type": "reasoning", "summary": []}), completed())
    assert fold(events).content == (Thinking(text="step"),)


def test_a_refusal_is_text_with_a_refusal_stop() -> None:
    refusal = frame("response.refusal.delta", item_id="m", output_index=0, content_index=0, delta="I can't help.")
    result = fold(run(created(), message(0, "m"), refusal, completed()))
    assert result.content == (Text("I can't help."),)
    assert result.stop_reason == "refusal"


def test_incomplete_and_usage_come_from_the_terminal_response() -> None:
    usage = {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 1},
        "output_tokens": 16,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 21,
    }
    incomplete = frame(
        "response.incomplete",
        response={
            **RESPONSE,
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "usage": usage,
        },
    )
    result = fold(run(created(), message(0, "m"), text(0, "m", "One,"), incomplete))
    assert result.stop_reason == "max_tokens"
    assert result.usage == Usage(input_tokens=5, output_tokens=16, cached_tokens=1, reported=True)
    assert (result.id, result.model, result.created) == ("resp_1", "m", 7)


def test_built_in_tool_items_are_skipped() -> None:
    search = {"id": "ws", "type": "web_search_call", "status": "in_progress"}
    events = run(
        created(),
        frame("response.output_item.added", output_index=0, item=search),
        frame("response.web_search_call.searching", item_id="ws", output_index=0),
        done(0, {**search, "status": "completed"}),
        message(1, "m"),
        text(1, "m", "Found it."),
        completed(),
    )
    assert fold(events).content == (Text("Found it."),)
