"""Ollama streams: the NDJSON parser (blocks, in-band errors, cut-off streams) and the NDJSON renderer
(partial messages, whole tool calls, the final line, in-band error lines), checked with the official SDK."""

from __future__ import annotations

from typing import Any

import ollama
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
from shared.formats.framing import FrameReader
from shared.formats.ollama.outbound import parse_result
from shared.formats.ollama.parse_stream import stream_parser
from shared.formats.ollama.render_stream import stream_renderer
from shared.formats.ollama.wire import synthetic_call_id

REQUEST = ChatRequest(model="client-model", messages=(Message("user", (Text("hi"),)),), stream=True, dialect="ollama")
STAMP = "2025-08-08T21:34:10.5Z"


def line(content: str = "", done: bool = False, **message: Any) -> dict[str, Any]:
    return {
        "model": "qwen3",
        "created_at": STAMP,
        "message": {"role": "assistant", "content": content, **message},
        "done": done,
    }


def final(reason: str = "stop", **extra: Any) -> dict[str, Any]:
    body = line(done=True)
    body.update({"done_reason": reason, "prompt_eval_count": 20, "eval_count": 60, **extra})
    return body


def ndjson(*lines: Any) -> bytes:
    return b"".join((item if isinstance(item, bytes) else jsonx.dumps(item)) + b"\n" for item in lines)


def parse(raw: bytes) -> list[StreamEvent]:
    reader, parser = FrameReader("ndjson"), stream_parser(REQUEST)
    events: list[StreamEvent] = []
    for frame in reader.feed(raw) + reader.close():
        events += parser.parse(frame)
    return events + parser.end()


def failure(events: list[StreamEvent]) -> UpstreamError:
    assert isinstance(events[-1], Failure)
    assert not any(isinstance(e, Finish) for e in events)
    error = events[-1].error
    assert isinstance(error, UpstreamError)
    return error


# --- parser ------------------------------------------------------------------------------------


def test_text_stream() -> None:
    events = parse(ndjson(line("Hel"), line("lo"), final()))
    assert events == [
        Start("", "qwen3", 1_754_688_850),
        BlockStart(0, "text"),
        TextDelta(0, "Hel"),
        TextDelta(0, "lo"),
        BlockStop(0),
        Finish("end", usage=Usage(input_tokens=20, output_tokens=60, reported=True)),
    ]


def test_thinking_and_text_alternate_into_new_blocks() -> None:
    events = parse(ndjson(line(thinking="a"), line(thinking="b"), line("c"), line(thinking="d"), final()))
    result = fold(events)
    assert result.content == (Thinking(text="ab"), Text("c"), Thinking(text="d"))


def test_one_line_with_thinking_and_content() -> None:
    assert fold(parse(ndjson(line("answer", thinking="why"), final()))).content == (
        Thinking(text="why"),
        Text("answer"),
    )


def test_the_final_line_may_carry_a_delta() -> None:
    last = final()
    last["message"]["content"] = "!"
    assert fold(parse(ndjson(line("Hi"), last))).content == (Text("Hi!"),)


def test_final_line_without_message() -> None:
    last = {"model": "qwen3", "created_at": STAMP, "done": True, "eval_count": 3}
    result = fold(parse(ndjson(line("Hi"), last)))
    assert (result.text, result.usage.output_tokens, result.stop_reason) == ("Hi", 3, "end")


def test_tool_calls_are_whole_blocks() -> None:
    calls = [
        {"id": "call_a", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
        {"function": {"index": 1, "name": "get_weather", "arguments": {"city": "Tokyo"}}},
    ]
    events = parse(ndjson(line("Checking."), line(tool_calls=calls), final()))
    assert events[2:10] == [
        TextDelta(0, "Checking."),
        BlockStop(0),
        BlockStart(1, "tool_call", tool_call_id="call_a", tool_name="get_weather"),
        ArgumentsDelta(1, '{"city":"Paris"}'),
        BlockStop(1),
        BlockStart(
            2,
            "tool_call",
            tool_call_id=synthetic_call_id("qwen3", 1, "get_weather", '{"city":"Tokyo"}'),
            tool_name="get_weather",
        ),
        ArgumentsDelta(2, '{"city":"Tokyo"}'),
        BlockStop(2),
    ]
    streamed = fold(events)
    assert streamed.stop_reason == "tool_use"
    answer = final()
    answer["message"] = {"role": "assistant", "content": "Checking.", "tool_calls": calls}
    assert parse_result(jsonx.dumps(answer)) == streamed  # synthesised ids agree with the JSON answer


def test_tool_calls_in_separate_lines() -> None:
    one = {"function": {"name": "f", "arguments": {}}}
    two = {"function": {"index": 1, "name": "g", "arguments": {"x": 1}}}
    result = fold(parse(ndjson(line(tool_calls=[one]), line(tool_calls=[two]), final())))
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("f", "{}"), ("g", '{"x":1}')]
    assert result.tool_calls[0].id != result.tool_calls[1].id


def test_length() -> None:
    assert fold(parse(ndjson(line("One,"), final("length")))).stop_reason == "max_tokens"


def test_end_without_the_done_line_is_interrupted() -> None:
    error = failure(parse(ndjson(line("Hel"), line("lo"))))
    assert error.code == "stream_interrupted"


def test_an_empty_stream_is_interrupted() -> None:
    assert failure(parse(b"")).code == "stream_interrupted"


def test_a_line_cut_in_half_is_malformed() -> None:
    raw = ndjson(line("Hel")) + jsonx.dumps(line("lo"))[:20]
    assert failure(parse(raw)).code == "upstream_stream_error"


def test_in_band_error() -> None:
    events = parse(ndjson(line("Yes"), {"error": "an error was encountered while running the model"}, line("more")))
    error = failure(events)
    assert error.code == "upstream_stream_error"
    assert error.message == "an error was encountered while running the model"
    assert TextDelta(0, "Yes") in events


@pytest.mark.parametrize("value", ["", None, 5, {"message": ""}])
def test_in_band_error_without_a_message(value: Any) -> None:
    assert failure(parse(ndjson({"error": value}))).message == "The upstream provider reported an error mid-stream."


def test_in_band_error_secrets_are_redacted() -> None:
    key = "sk-abcdefghijklmnopqrstuvwxyz123456"
    assert key not in failure(parse(ndjson({"error": f"bad key {key}"}))).message


def test_malformed_line() -> None:
    error = failure(parse(ndjson(line("a"), b"{not json")))
    assert error.code == "upstream_stream_error"


def test_lines_after_done_are_ignored() -> None:
    events = parse(ndjson(line("a"), final(), line("late"), {"error": "late"}))
    assert isinstance(events[-1], Finish)
    assert fold(events).text == "a"


def test_non_object_lines_are_ignored() -> None:
    assert fold(parse(ndjson(b"[1]", b'"x"', line("a"), final()))).text == "a"


def test_parser_is_reusable_per_request() -> None:
    first, second = stream_parser(REQUEST), stream_parser(REQUEST)
    assert first is not second


# --- renderer ----------------------------------------------------------------------------------


def render(events: list[StreamEvent], request: ChatRequest = REQUEST) -> list[dict[str, Any]]:
    renderer = stream_renderer(request)
    wire = b"".join(renderer.render(event) for event in events)
    assert wire.endswith(b"\n") or wire == b""
    return [jsonx.loads(item) for item in wire.splitlines()]


USAGE = Usage(input_tokens=12, output_tokens=9, cached_tokens=4, reasoning_tokens=2, reported=True)


def test_renders_partial_messages_then_the_final_line() -> None:
    events: list[StreamEvent] = [
        Start("msg_1", "claude-sonnet-4-5", 1_731_000_000),
        BlockStart(0, "thinking"),
        ThinkingDelta(0, "Hmm"),
        SignatureDelta(0, "sig"),
        BlockStop(0),
        BlockStart(1, "text"),
        TextDelta(1, "Hi"),
        TextDelta(1, ""),
        BlockStop(1),
        UsageUpdate(USAGE),
        Finish("end"),
    ]
    lines = render(events)
    base = {"model": "claude-sonnet-4-5", "created_at": "2024-11-07T17:20:00Z"}
    assert lines == [
        {**base, "message": {"role": "assistant", "content": "", "thinking": "Hmm"}, "done": False},
        {**base, "message": {"role": "assistant", "content": "Hi"}, "done": False},
        {
            **base,
            "message": {"role": "assistant", "content": ""},
            "done_reason": "stop",
            "done": True,
            "prompt_eval_count": 12,
            "eval_count": 9,
        },
    ]
    chunks = [ollama.ChatResponse(**item) for item in lines]  # what the SDK yields
    assert [c.message.thinking for c in chunks] == ["Hmm", None, None]
    assert chunks[-1].done and chunks[-1].done_reason == "stop"


def test_tool_calls_are_held_until_their_block_stops() -> None:
    renderer = stream_renderer(REQUEST)
    assert renderer.render(Start("x", "m", 0)) == b""
    assert renderer.render(BlockStart(0, "tool_call", tool_call_id="call_1", tool_name="get_weather")) == b""
    assert renderer.render(ArgumentsDelta(0, '{"city":')) == b""
    assert renderer.render(ArgumentsDelta(0, ' "Paris"}')) == b""
    assert renderer.render(SignatureDelta(0, "gemini-sig")) == b""
    out = renderer.render(BlockStop(0))
    body = jsonx.loads(out)
    assert body["message"]["tool_calls"] == [
        {"id": "call_1", "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}}
    ]
    renderer.render(BlockStart(1, "tool_call", tool_call_id="call_2", tool_name="noop"))
    second = jsonx.loads(renderer.render(BlockStop(1)))
    assert second["message"]["tool_calls"] == [
        {"id": "call_2", "function": {"index": 1, "name": "noop", "arguments": {}}}
    ]
    chunk = ollama.ChatResponse(**body)
    assert chunk.message.tool_calls is not None
    assert chunk.message.tool_calls[0].function.arguments == {"city": "Paris"}


@pytest.mark.parametrize(("stop", "reason"), [("max_tokens", "length"), ("tool_use", "stop"), ("refusal", "stop")])
def test_done_reason(stop: Any, reason: str) -> None:
    last = render([Start("", "m", 0), Finish(stop, usage=USAGE)])[-1]
    assert last["done_reason"] == reason
    assert last["done"] is True


def test_no_usage_no_counts() -> None:
    last = render([Start("", "", 0), Finish("end")])[-1]
    assert "prompt_eval_count" not in last and "eval_count" not in last
    assert last["model"] == "client-model"
    assert last["created_at"] == "1970-01-01T00:00:00Z"


def test_failure_is_an_error_line_and_never_done() -> None:
    events: list[StreamEvent] = [
        Start("", "m", 0),
        BlockStart(0, "text"),
        TextDelta(0, "Hi"),
        Failure(RateLimited("slow down")),
    ]
    lines = render(events)
    assert lines[-1] == {"error": "slow down"}
    assert not any(item.get("done") for item in lines)
    surfaced = [ollama.ResponseError(item["error"]) for item in lines if item.get("error")]  # what the SDK raises
    assert [str(error.error) for error in surfaced] == ["slow down"]


def test_failure_before_anything() -> None:
    assert render([Failure(UpstreamError("The upstream stream ended before completion."))]) == [
        {"error": "The upstream stream ended before completion."}
    ]


RESULT = ChatResult(
    id="",
    model="qwen3",
    created=1_754_688_850,
    content=(Thinking(text="Need it."), Text("Checking."), ToolCall(id="call_x", name="f", arguments='{"a":[1,2]}')),
    stop_reason="tool_use",
    usage=Usage(input_tokens=5, output_tokens=7, reported=True),
)


def test_render_then_parse_round_trip() -> None:
    lines = render(explode(RESULT))
    assert fold(parse(ndjson(*lines))) == RESULT
