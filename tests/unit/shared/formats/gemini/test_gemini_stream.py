"""Gemini streams: the parser's blocks, signatures and endings, and the renderer's frames."""

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
from shared.formats.framing import FrameReader
from shared.formats.gemini import DIALECT
from shared.formats.gemini.outbound import parse_result
from shared.formats.gemini.parse_stream import GeminiStreamParser
from shared.formats.gemini.render_stream import GeminiStreamRenderer
from shared.sse import SSEEvent
from tests.contract.fixtures import parse_stream

REQUEST = ChatRequest(model="gemini-2.5-flash", messages=(Message("user", (Text("hi"),)),), stream=True)


def chunk(*parts: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "r1"}
    if usage is not None:
        body["usageMetadata"] = usage
    return body


def sse(*chunks: dict[str, Any] | bytes) -> bytes:
    return b"".join(b"data: " + (c if isinstance(c, bytes) else jsonx.dumps(c)) + b"\r\n\r\n" for c in chunks)


def events_of(raw: bytes) -> list[StreamEvent]:
    return parse_stream(DIALECT, raw)


def blocks(events: list[StreamEvent]) -> list[StreamEvent]:
    return [e for e in events if not isinstance(e, Start | UsageUpdate | Finish)]


# --- parser -------------------------------------------------------------------------------------


def test_text_pieces_are_one_block_and_close_finishes() -> None:
    events = events_of(sse(chunk({"text": "Hel"}), chunk({"text": "lo"}, finish="STOP")))
    assert events == [
        Start("r1", "gemini-2.5-flash"),
        BlockStart(0, "text"),
        TextDelta(0, "Hel"),
        TextDelta(0, "lo"),
        BlockStop(0),
        Finish("end"),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        sse(chunk({"text": "Hel"})),
        sse(chunk({"text": "Hel"}), chunk({"text": "lo"}, usage={"promptTokenCount": 3})),
        sse(chunk({"functionCall": {"name": "f", "args": {}}})),
    ],
)
def test_a_close_before_a_finish_reason_is_an_interrupted_stream(raw: bytes) -> None:
    events = events_of(raw)
    assert isinstance(events[-1], Failure)
    assert events[-1].error.code == "stream_interrupted"
    assert not any(isinstance(e, Finish) for e in events)
    with pytest.raises(UpstreamError):
        fold(events)


def test_end_after_a_failure_or_finish_adds_nothing() -> None:
    parser = GeminiStreamParser()
    assert parser.parse(SSEEvent(None, jsonx.dumps(chunk({"text": "x"}, finish="STOP"))))
    assert isinstance(parser.end()[-1], Finish)
    assert parser.end() == []
    assert parser.parse(SSEEvent(None, jsonx.dumps(chunk({"text": "late"})))) == []


def test_an_in_band_error_is_a_failure_and_nothing_follows() -> None:
    error = {
        "error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}
    }
    events = events_of(sse(chunk({"text": "Hel"}), error, chunk({"text": "lo"}, finish="STOP")))
    assert isinstance(events[-1], Failure)
    assert events[-1].error.code == "upstream_stream_error"
    assert "overloaded" in events[-1].error.message
    assert TextDelta(0, "lo") not in events
    assert sum(isinstance(e, Failure | Finish) for e in events) == 1


@pytest.mark.parametrize("data", [b"{not json", b'{"candidates": [}'])
def test_a_malformed_event_is_a_failure(data: bytes) -> None:
    events = events_of(sse(chunk({"text": "a"}), data, chunk({"text": "b"}, finish="STOP")))
    assert isinstance(events[-1], Failure)
    assert events[-1].error.code == "upstream_stream_error"


def test_noise_and_a_stray_done_are_ignored() -> None:
    raw = b": keep-alive\n\n" + sse(chunk({"text": "a"}, finish="STOP")) + b"data: [DONE]\n\n"
    assert fold(events_of(raw)).text == "a"


def test_a_thought_signature_closes_its_thought_and_a_text_signature_follows_the_text() -> None:
    raw = sse(
        chunk({"text": "think ", "thought": True}),
        chunk({"text": "more", "thought": True}, {"text": "", "thought": True, "thoughtSignature": "t-sig"}),
        chunk({"text": "again", "thought": True}),
        chunk({"text": "Answer"}),
        chunk({"text": " done", "thoughtSignature": "a-sig"}),
        chunk({"text": "", "thoughtSignature": "b-sig"}, finish="STOP"),
    )
    assert fold(events_of(raw)).content == (
        Thinking("think more", "t-sig"),
        Thinking("again"),
        Text("Answer done"),
        Thinking("", "a-sig"),
        Thinking("", "b-sig"),
    )


def test_parallel_calls_are_sequential_blocks_with_their_own_signatures() -> None:
    raw = sse(
        chunk({"functionCall": {"name": "a", "args": {"x": 1}}, "thoughtSignature": "s"}),
        chunk(
            {"functionCall": {"name": "b", "args": {}}}, {"functionCall": {"id": "given", "name": "c"}}, finish="STOP"
        ),
    )
    events = blocks(events_of(raw))
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [(s.index, s.kind, s.tool_name) for s in starts] == [
        (0, "tool_call", "a"),
        (1, "tool_call", "b"),
        (2, "tool_call", "c"),
    ]
    assert starts[2].tool_call_id == "given"
    assert events[:4] == [starts[0], ArgumentsDelta(0, '{"x":1}'), SignatureDelta(0, "s"), BlockStop(0)]
    result = fold(events_of(raw))
    assert result.stop_reason == "tool_use"
    assert [c.signature for c in result.tool_calls] == ["s", None, None]


def test_usage_is_cumulative_and_the_last_one_wins() -> None:
    raw = sse(
        chunk({"text": "a"}, usage={"promptTokenCount": 5, "totalTokenCount": 5}),
        chunk(
            {"text": "b"},
            finish="STOP",
            usage={"promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 3},
        ),
    )
    events = events_of(raw)
    assert [e.usage.output_tokens for e in events if isinstance(e, UsageUpdate)] == [0, 5]
    assert fold(events).usage == Usage(input_tokens=5, output_tokens=5, reasoning_tokens=3, reported=True)


def test_a_blocked_prompt_finishes_with_content_filter() -> None:
    raw = sse(
        {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}, "responseId": "r9"}
    )
    result = fold(events_of(raw))
    assert (result.id, result.content, result.stop_reason) == ("r9", (), "content_filter")


def test_other_candidates_are_ignored() -> None:
    second = {"candidates": [{"content": {"parts": [{"text": "other"}]}, "index": 1}]}
    result = fold(events_of(sse(second, chunk({"text": "mine"}, finish="STOP"))))
    assert result.text == "mine"


def test_stream_and_json_agree_on_synthesised_ids() -> None:
    body = chunk({"functionCall": {"name": "f", "args": {"a": [1, 2]}}}, finish="STOP")
    assert fold(events_of(sse(body))) == parse_result(jsonx.dumps(body))


def test_blocks_are_never_open_twice() -> None:
    raw = sse(
        chunk({"text": "a"}, {"functionCall": {"name": "f"}}, {"text": "b", "thought": True}, {"text": "c"}),
        chunk({"inlineData": {"mimeType": "image/png", "data": "QUJD"}, "thoughtSignature": "img"}, finish="STOP"),
    )
    events = blocks(events_of(raw))
    kinds = [(type(e).__name__, getattr(e, "index", None)) for e in events if isinstance(e, BlockStart | BlockStop)]
    assert kinds == [
        ("BlockStart", 0),
        ("BlockStop", 0),
        ("BlockStart", 1),
        ("BlockStop", 1),
        ("BlockStart", 2),
        ("BlockStop", 2),
        ("BlockStart", 3),
        ("BlockStop", 3),
        ("BlockStart", 4),
        ("BlockStop", 4),
    ]
    assert fold(events_of(raw)).content[-1] == Thinking("", "img")


# --- renderer -----------------------------------------------------------------------------------


def render(events: list[StreamEvent]) -> bytes:
    renderer = GeminiStreamRenderer(REQUEST)
    return b"".join(renderer.render(e) for e in events)


def frames(wire: bytes) -> list[dict[str, Any]]:
    reader = FrameReader("sse")
    out = [jsonx.loads(f.data) for f in reader.feed(wire) + reader.close()]
    assert all(isinstance(f, dict) for f in out)
    return out


RESULT = ChatResult(
    id="resp-7",
    model="claude-sonnet-4",
    content=(
        Thinking("Let me think.", "YW50aHJvcGljLXNpZw=="),
        Text("Calling."),
        ToolCall("toolu_1", "weather", '{"city": "Paris"}'),
        ToolCall("toolu_2", "time", "", signature="dG9vbC1zaWc="),
    ),
    stop_reason="tool_use",
    usage=Usage(input_tokens=10, output_tokens=20, reasoning_tokens=5, cached_tokens=2, reported=True),
)


def test_rendered_stream_parses_back_to_the_same_result() -> None:
    wire = render(explode(RESULT))
    parsed = fold(events_of(wire))
    assert parsed == ChatResult(
        id="resp-7",
        model="claude-sonnet-4",
        content=(
            Thinking("Let me think.", "YW50aHJvcGljLXNpZw=="),
            Text("Calling."),
            ToolCall("toolu_1", "weather", '{"city":"Paris"}'),
            ToolCall("toolu_2", "time", "{}", signature="dG9vbC1zaWc="),
        ),
        stop_reason="tool_use",
        usage=RESULT.usage,
    )


def test_rendered_frames_look_like_gemini() -> None:
    wire = render(explode(RESULT))
    assert b"[DONE]" not in wire
    bodies = frames(wire)
    parts = [p for b in bodies for p in b["candidates"][0]["content"]["parts"]]
    assert parts == [
        {"text": "Let me think.", "thought": True},
        {"text": "", "thought": True, "thoughtSignature": "YW50aHJvcGljLXNpZw=="},
        {"text": "Calling."},
        {"functionCall": {"id": "toolu_1", "name": "weather", "args": {"city": "Paris"}}},
        {"functionCall": {"id": "toolu_2", "name": "time", "args": {}}, "thoughtSignature": "dG9vbC1zaWc="},
        {"text": ""},
    ]
    assert all(b["responseId"] == "resp-7" and b["modelVersion"] == "claude-sonnet-4" for b in bodies)
    assert [b["candidates"][0].get("finishReason") for b in bodies][-1] == "STOP"
    assert "finishReason" not in bodies[0]["candidates"][0]
    assert bodies[-1]["usageMetadata"] == {
        "promptTokenCount": 10,
        "candidatesTokenCount": 15,
        "totalTokenCount": 30,
        "cachedContentTokenCount": 2,
        "thoughtsTokenCount": 5,
    }


def test_a_signature_before_the_thinking_text_still_ends_its_block() -> None:
    events: list[StreamEvent] = [
        Start("r", "m"),
        BlockStart(0, "thinking"),
        SignatureDelta(0, "early"),
        ThinkingDelta(0, "text"),
        BlockStop(0),
        Finish("end"),
    ]
    assert fold(events_of(render(events))).content == (Thinking("text", "early"),)


def test_redacted_thinking_is_not_rendered() -> None:
    events: list[StreamEvent] = [
        Start("r", "m"),
        BlockStart(0, "thinking", redacted="opaque"),
        SignatureDelta(0, "x"),
        BlockStop(0),
        BlockStart(1, "text"),
        TextDelta(1, "hi"),
        BlockStop(1),
        Finish("end"),
    ]
    assert fold(events_of(render(events))).content == (Text("hi"),)


def test_failure_is_an_in_band_error_and_never_a_finish() -> None:
    events: list[StreamEvent] = [
        Start("r", "m"),
        BlockStart(0, "text"),
        TextDelta(0, "partial"),
        Failure(RateLimited("Slow down.", headers={"Retry-After": "2"})),
    ]
    bodies = frames(render(events))
    assert all("finishReason" not in b.get("candidates", [{}])[0] for b in bodies)
    assert bodies[-1] == {
        "error": {
            "code": 429,
            "message": "Slow down.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "omniroute",
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"},
            ],
        }
    }
    failed = events_of(render(events))
    assert isinstance(failed[-1], Failure)
    assert failed[-1].error.message == "Slow down."


def test_unreported_usage_is_not_invented() -> None:
    result = ChatResult(id="r", model="m", content=(Text("x"),))
    bodies = frames(render(explode(result)))
    assert all("usageMetadata" not in b for b in bodies)
    assert fold(events_of(render(explode(result)))).usage == Usage()


@pytest.mark.parametrize(
    ("stop", "parsed"), [("max_tokens", "max_tokens"), ("content_filter", "content_filter"), ("error", "error")]
)
def test_stop_reasons_survive_a_stream(stop: Any, parsed: str) -> None:
    result = ChatResult(id="r", model="m", content=(Text("x"),), stop_reason=stop)
    assert fold(events_of(render(explode(result)))).stop_reason == parsed
