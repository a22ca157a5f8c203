"""Anthropic streams: the provider-side parser on edge cases, the client-side renderer's frames."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text
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
    fold,
)
from shared.canonical.usage import Usage
from shared.formats.anthropic import DIALECT
from shared.sse import SSEParser
from tests.contract.fixtures import parse_stream

REQUEST = ChatRequest(model="client-model", messages=(Message("user", (Text("hi"),)),), stream=True)
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-x",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1},
}


def frame(kind: str, **payload: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + jsonx.dumps({"type": kind, **payload}) + b"\n\n"


def start() -> bytes:
    return frame("message_start", message=MESSAGE)


def text_block(index: int, *pieces: str) -> bytes:
    out = frame("content_block_start", index=index, content_block={"type": "text", "text": ""})
    out += b"".join(frame("content_block_delta", index=index, delta={"type": "text_delta", "text": p}) for p in pieces)
    return out + frame("content_block_stop", index=index)


def finish(reason: str = "end_turn", **usage: Any) -> bytes:
    usage = usage or {"output_tokens": 3}
    delta = {"stop_reason": reason, "stop_sequence": None}
    return frame("message_delta", delta=delta, usage=usage) + frame("message_stop")


def events(raw: bytes) -> list[StreamEvent]:
    return parse_stream(DIALECT, raw)


def failure_of(evs: list[StreamEvent]) -> UpstreamError:
    assert isinstance(evs[-1], Failure)
    assert not any(isinstance(e, Finish) for e in evs)
    error = evs[-1].error
    assert isinstance(error, UpstreamError)
    return error


def test_a_plain_stream() -> None:
    evs = events(start() + frame("ping") + text_block(0, "Hel", "lo") + finish())
    assert evs == [
        Start("msg_1", "claude-x", usage=Usage(input_tokens=15, output_tokens=1, cached_tokens=5, reported=True)),
        BlockStart(0, "text"),
        TextDelta(0, "Hel"),
        TextDelta(0, "lo"),
        BlockStop(0),
        UsageUpdate(Usage(input_tokens=15, output_tokens=3, cached_tokens=5, reported=True)),
        Finish("end", None, Usage(input_tokens=15, output_tokens=3, cached_tokens=5, reported=True)),
    ]


@pytest.mark.parametrize("cut", ["message_stop", "message_delta", "content_block_stop", "content_block_delta"])
def test_a_stream_that_closes_before_message_stop_is_interrupted(cut: str) -> None:
    whole = start() + text_block(0, "Hel", "lo") + finish()
    raw = whole[: whole.rindex(b"event: " + cut.encode())]
    assert failure_of(events(raw)).code == "stream_interrupted"


def test_an_empty_stream_is_interrupted() -> None:
    assert failure_of(events(b"")).code == "stream_interrupted"


def test_an_in_band_error_ends_the_stream() -> None:
    error = frame("error", error={"type": "overloaded_error", "message": "Overloaded"})
    evs = events(start() + text_block(0, "Hel") + error + finish())
    failure = failure_of(evs)
    assert failure.message == "Overloaded"
    assert failure.code == "upstream_stream_error"


def test_an_error_without_a_message_still_fails() -> None:
    assert "mid-stream" in failure_of(events(start() + b"event: error\ndata: {}\n\n")).message


def test_a_malformed_event_fails() -> None:
    assert "malformed" in failure_of(events(start() + b"event: ping\ndata: {not json\n\n" + finish())).message


def test_content_before_message_start_fails() -> None:
    assert "message_start" in failure_of(events(text_block(0, "x") + finish())).message


@pytest.mark.parametrize(
    "middle",
    [
        # a second block starts while the first is open
        frame("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + frame("content_block_start", index=1, content_block={"type": "text", "text": ""}),
        # a delta for a block that is not open
        frame("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + frame("content_block_delta", index=3, delta={"type": "text_delta", "text": "x"}),
        # a stop for a block that is not open
        frame("content_block_stop", index=0),
        # a block index used twice
        text_block(0, "a") + text_block(0, "b"),
        # message_stop with a block open
        frame("content_block_start", index=0, content_block={"type": "text", "text": ""}) + frame("message_stop"),
    ],
)
def test_broken_block_sequences_fail_instead_of_corrupting_output(middle: bytes) -> None:
    evs = events(start() + middle + finish())
    assert failure_of(evs).code == "upstream_stream_error"


def test_server_tool_blocks_are_skipped_and_later_blocks_renumbered() -> None:
    raw = (
        start()
        + frame("content_block_start", index=0, content_block={"type": "server_tool_use", "id": "s", "name": "web"})
        + frame("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": '{"q":"x"}'})
        + frame("content_block_stop", index=0)
        + frame("content_block_start", index=1, content_block={"type": "web_search_tool_result", "content": []})
        + frame("content_block_stop", index=1)
        + text_block(2, "Found.")
        + frame("content_block_start", index=3, content_block={"type": "tool_use", "id": "t", "name": "f", "input": {}})
        + frame("content_block_delta", index=3, delta={"type": "input_json_delta", "partial_json": ""})
        + frame("content_block_stop", index=3)
        + finish("tool_use")
    )
    evs = events(raw)
    blocks = [e for e in evs if isinstance(e, BlockStart | BlockStop | TextDelta | ArgumentsDelta)]
    assert blocks == [
        BlockStart(0, "text"),
        TextDelta(0, "Found."),
        BlockStop(0),
        BlockStart(1, "tool_call", tool_call_id="t", tool_name="f"),
        BlockStop(1),
    ]
    result = fold(evs)
    assert result.content[1].arguments == "{}"  # type: ignore[union-attr]


def test_thinking_signatures_citations_and_content_in_block_starts() -> None:
    raw = (
        start()
        + frame("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": "s0"})
        + frame("content_block_stop", index=0)
        + frame("content_block_start", index=1, content_block={"type": "thinking", "thinking": "", "signature": ""})
        + frame("content_block_delta", index=1, delta={"type": "thinking_delta", "thinking": "Hmm"})
        + frame("content_block_delta", index=1, delta={"type": "signature_delta", "signature": "s1"})
        + frame("content_block_stop", index=1)
        + frame("content_block_start", index=2, content_block={"type": "text", "text": "Pre"})
        + frame("content_block_delta", index=2, delta={"type": "citations_delta", "citation": {"type": "x"}})
        + frame("content_block_delta", index=2, delta={"type": "text_delta", "text": "fix"})
        + frame("content_block_stop", index=2)
        + finish()
    )
    evs = events(raw)
    assert [e for e in evs if isinstance(e, ThinkingDelta | SignatureDelta | TextDelta)] == [
        SignatureDelta(0, "s0"),
        ThinkingDelta(1, "Hmm"),
        SignatureDelta(1, "s1"),
        TextDelta(2, "Pre"),
        TextDelta(2, "fix"),
    ]


def test_usage_in_message_delta_is_cumulative_and_keeps_what_it_omits() -> None:
    usage = {"input_tokens": 12, "cache_creation_input_tokens": 4, "output_tokens": 9}
    usage["output_tokens_details"] = {"thinking_tokens": 2}  # type: ignore[assignment]
    result = fold(events(start() + text_block(0, "x") + finish(**usage)))
    assert result.usage == Usage(
        input_tokens=21, output_tokens=9, cached_tokens=5, cache_creation_tokens=4, reasoning_tokens=2, reported=True
    )


def test_nothing_is_emitted_after_the_end() -> None:
    assert events(start() + finish() + text_block(0, "late") + finish())[-1] == Finish(
        "end", None, Usage(input_tokens=15, output_tokens=3, cached_tokens=5, reported=True)
    )


def test_stop_sequence_and_unknown_events() -> None:
    delta = {"stop_reason": "stop_sequence", "stop_sequence": "END"}
    raw = start() + frame("something_new", x=1) + frame("message_delta", delta=delta, usage={"output_tokens": 2})
    result = fold(events(raw + frame("message_stop")))
    assert (result.stop_reason, result.stop_sequence) == ("stop_sequence", "END")


# --- the renderer -------------------------------------------------------------------------------


def rendered(evs: list[StreamEvent]) -> list[tuple[str | None, dict[str, Any]]]:
    renderer = DIALECT.stream_renderer(REQUEST)
    wire = b"".join(renderer.render(e) for e in evs)
    parser = SSEParser()
    return [(f.event, jsonx.loads(f.data)) for f in parser.feed(wire) + parser.close()]


def test_the_renderer_writes_the_sdk_event_sequence() -> None:
    usage = Usage(input_tokens=30, output_tokens=12, cached_tokens=10, reasoning_tokens=4, reported=True)
    frames = rendered(
        [
            Start("msg_1", ""),
            BlockStart(0, "thinking"),
            ThinkingDelta(0, "Hm"),
            ThinkingDelta(0, ""),
            SignatureDelta(0, "sig"),
            BlockStop(0),
            BlockStart(1, "tool_call", tool_call_id="c1", tool_name="f"),
            ArgumentsDelta(1, '{"a":'),
            ArgumentsDelta(1, "1}"),
            SignatureDelta(1, "gemini-only"),
            BlockStop(1),
            UsageUpdate(usage),
            Finish("tool_use"),
        ]
    )
    assert [name for name, _ in frames] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in frames)
    assert frames[0][1]["message"]["model"] == "client-model"
    assert frames[0][1]["message"]["content"] == []
    assert frames[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    assert frames[3][1]["delta"] == {"type": "signature_delta", "signature": "sig"}
    assert frames[5][1]["content_block"] == {"type": "tool_use", "id": "c1", "name": "f", "input": {}}
    assert [f[1]["index"] for f in frames[1:9]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert frames[9][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {
            "input_tokens": 20,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
            "output_tokens": 12,
            "output_tokens_details": {"thinking_tokens": 4},
        },
    }


def test_a_redacted_block_renders_as_redacted_thinking() -> None:
    frames = rendered([Start("m", "x"), BlockStart(0, "thinking", redacted="opaque"), BlockStop(0), Finish("end")])
    assert frames[1][1]["content_block"] == {"type": "redacted_thinking", "data": "opaque"}


@pytest.mark.parametrize("at", [0, 1, 3])
def test_a_failure_renders_an_error_event_and_never_message_stop(at: int) -> None:
    evs: list[StreamEvent] = [Start("m", "x"), BlockStart(0, "text"), TextDelta(0, "Hel")][:at]
    error = RateLimited("Slow down.")
    frames = rendered([*evs, Failure(error)])
    assert frames[-1] == ("error", {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down."}})
    assert all(name not in ("message_stop", "message_delta") for name, _ in frames)


def test_a_failure_after_the_stream_parser_round_trips_to_a_failure() -> None:
    frames = rendered([Start("m", "x"), Failure(UpstreamError("Broke.", code="stream_interrupted"))])
    wire = b"".join(frame(name or "", **{k: v for k, v in data.items() if k != "type"}) for name, data in frames)
    failure = failure_of(events(wire))
    assert failure.message == "Broke."


def test_a_tool_use_whose_input_comes_whole_in_its_start() -> None:
    """Some Anthropic-compatible upstreams put the whole input in content_block_start; deltas win when sent."""
    whole = {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}
    only_start = frame("content_block_start", index=0, content_block=whole) + frame("content_block_stop", index=0)
    with_deltas = (
        frame("content_block_start", index=0, content_block=whole)
        + frame("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": '{"b":2}'})
        + frame("content_block_stop", index=0)
    )
    assert fold(events(start() + only_start + finish("tool_use"))).content[0].arguments == '{"a":1}'  # type: ignore[union-attr]
    assert fold(events(start() + with_deltas + finish("tool_use"))).content[0].arguments == '{"b":2}'  # type: ignore[union-attr]
