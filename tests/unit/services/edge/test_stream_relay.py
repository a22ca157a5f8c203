"""StreamRelay, OpenAI Chat on both sides: normalised data frames out, usage captured, clean or in-band-error endings."""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.edge.pipeline.relay import StreamRelay
from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import GatewayError, UpstreamError, UpstreamTimeout
from shared.canonical.usage import Usage
from shared.formats.openai_chat.inbound import error_body
from shared.formats.registry import get_dialect
from shared.sse import SSEEvent, SSEParser, data_frame

FAKE_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"
DONE_FRAME = b"data: [DONE]\n\n"
MIB = 1024 * 1024


def content_chunk(text: str, finish: str | None = None, **extra: Any) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
        **extra,
    }
    return jsonx.dumps(chunk)


def tool_chunk(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> bytes:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call["id"], call["type"], call["function"]["name"] = call_id, "function", name
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}],
    }
    return jsonx.dumps(chunk)


USAGE = {
    "prompt_tokens": 7,
    "completion_tokens": 3,
    "total_tokens": 10,
    "prompt_tokens_details": {"cached_tokens": 2},
    "completion_tokens_details": {"reasoning_tokens": 1},
}
EXPECTED_USAGE = Usage(input_tokens=7, output_tokens=3, cached_tokens=2, reasoning_tokens=1, reported=True)
USAGE_ONLY = jsonx.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": USAGE})
C1 = content_chunk("Hello", usage=None)
C2 = content_chunk(" world", usage=None)
C3 = content_chunk("", finish="stop", usage=None)


def frames(*payloads: bytes) -> bytes:
    return b"".join(b"data: " + payload + b"\n\n" for payload in payloads)


def new_relay(wants_usage: bool, *, progress: bool = False) -> StreamRelay:
    openai = get_dialect("openai_chat")
    request = ChatRequest(
        model="m",
        messages=(Message("user", (Text("x"),)),),
        stream=True,
        wants_usage_in_stream=wants_usage,
        dialect="openai_chat",
    )
    return StreamRelay(openai, openai, request, progress=progress)


def relay_all(stream: bytes, wants_usage: bool) -> tuple[bytes, StreamRelay]:
    relay = new_relay(wants_usage)
    return relay.feed(stream) + relay.end(), relay


def relay_chunks(chunks: list[bytes], wants_usage: bool) -> tuple[bytes, StreamRelay]:
    relay = new_relay(wants_usage)
    out = b"".join(relay.feed(chunk) for chunk in chunks)
    return out + relay.end(), relay


def client_events(output: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    return parser.feed(output) + parser.close()


def assert_only_data_frames(output: bytes) -> None:
    for frame in output.split(b"\n\n")[:-1]:
        assert frame.startswith(b"data: "), frame
        assert all(line.startswith(b"data: ") for line in frame.split(b"\n")), frame
    assert output.endswith(b"\n\n") or output == b""


def error_frame(error: GatewayError) -> bytes:
    return data_frame(jsonx.dumps(error_body(error)))


def error_of(out: bytes) -> dict[str, Any]:
    last = client_events(out)[-1]
    body = jsonx.loads(last.data)
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


def state(relay: StreamRelay) -> tuple[Any, ...]:
    return relay.usage, relay.finished, None if relay.error is None else relay.error.code


NOISY = (
    b": keep-alive\n"
    b"retry: 3000\n"
    b"\n"
    b"id: 1\n"
    b"event: message\n"
    b"data: " + C1 + b"\n"
    b"\n"
    b": ping\n"
    b"id: 2\n"
    b"data: " + C2 + b"\n"
    b"\n"
    b"data: " + C3 + b"\n"
    b"\n"
    b"data: " + USAGE_ONLY + b"\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)


# Pass-through


def test_data_frames_pass_through_byte_identical() -> None:
    upstream = frames(C1, C2, C3, USAGE_ONLY, b"[DONE]")
    out, relay = relay_all(upstream, wants_usage=True)
    assert out == upstream
    assert relay.finished is True
    assert relay.error is None


def test_non_ascii_payload_is_byte_identical() -> None:
    upstream = frames(content_chunk("héllo – 世界 🌍"), b"[DONE]")
    assert relay_all(upstream, wants_usage=False)[0] == upstream


def test_tool_call_frames_pass_through_byte_identical() -> None:
    finish = jsonx.dumps({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    upstream = frames(
        tool_chunk(0, "", call_id="call_a", name="lookup"),
        tool_chunk(0, '{"q":'),
        tool_chunk(0, '"x"}'),
        tool_chunk(1, "{}", call_id="call_b", name="other"),
        finish,
        b"[DONE]",
    )
    out, relay = relay_all(upstream, wants_usage=False)
    assert out == upstream
    assert relay.error is None
    assert relay.finished is True


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_noise_lines_are_dropped(end: bytes) -> None:
    out, relay = relay_all(NOISY.replace(b"\n", end), wants_usage=True)
    assert out == frames(C1, C2, C3, USAGE_ONLY, b"[DONE]")
    assert_only_data_frames(out)
    for forbidden in (b"id:", b"event:", b"retry:", b": keep-alive", b": ping", b"\r"):
        assert forbidden not in out
    assert relay.finished is True
    assert relay.error is None


def test_a_named_upstream_event_reaches_the_client_unnamed() -> None:
    out, _ = relay_all(b"event: chunk\ndata: " + C1 + b"\n\n" + frames(b"[DONE]"), wants_usage=False)
    assert out == frames(C1, b"[DONE]")


def test_output_parses_to_the_upstream_events() -> None:
    out, _ = relay_all(NOISY, wants_usage=True)
    events = client_events(out)
    assert [event.data for event in events] == [C1, C2, C3, USAGE_ONLY, b"[DONE]"]
    assert all(event.event is None and event.id is None and event.retry is None for event in events)


def test_multiline_data_is_relayed_as_one_well_formed_event() -> None:
    upstream = b'data: {"choices": [],\ndata:  "usage": null}\n\n' + frames(b"[DONE]")
    out, _ = relay_all(upstream, wants_usage=False)
    assert_only_data_frames(out)
    assert [event.data for event in client_events(out)] == [b'{"choices": [],\n "usage": null}', b"[DONE]"]


# Usage


def test_usage_is_captured_from_the_usage_chunk() -> None:
    _, relay = relay_all(frames(C1, C2, C3, USAGE_ONLY, b"[DONE]"), wants_usage=False)
    assert relay.usage == EXPECTED_USAGE


def test_usage_only_chunk_is_withheld_when_not_wanted() -> None:
    out, relay = relay_all(frames(C1, C2, C3, USAGE_ONLY, b"[DONE]"), wants_usage=False)
    assert out == frames(C1, C2, C3, b"[DONE]")
    assert b'"prompt_tokens"' not in out
    assert relay.usage == EXPECTED_USAGE


def test_usage_only_chunk_is_forwarded_when_wanted() -> None:
    out, relay = relay_all(frames(C1, USAGE_ONLY, b"[DONE]"), wants_usage=True)
    assert out == frames(C1, USAGE_ONLY, b"[DONE]")
    assert relay.usage == EXPECTED_USAGE


@pytest.mark.parametrize("wants_usage", [True, False])
def test_usage_on_a_content_chunk_is_forwarded_and_captured(wants_usage: bool) -> None:
    last = content_chunk("!", finish="stop", usage=USAGE)
    out, relay = relay_all(frames(C1, last, b"[DONE]"), wants_usage=wants_usage)
    assert out == frames(C1, last, b"[DONE]")
    assert relay.usage == EXPECTED_USAGE


def test_usage_null_chunks_do_not_set_usage() -> None:
    out, relay = relay_all(frames(C1, C2, b"[DONE]"), wants_usage=False)
    assert out == frames(C1, C2, b"[DONE]")
    assert relay.usage == Usage()
    assert relay.usage.reported is False


@pytest.mark.parametrize("wants_usage", [True, False])
def test_usage_with_spaces_around_the_colon_is_recognised(wants_usage: bool) -> None:
    pretty = b'{"choices" : [ ], "usage" :  {"prompt_tokens": 5, "completion_tokens": 6}}'
    out, relay = relay_all(frames(C1, pretty, b"[DONE]"), wants_usage=wants_usage)
    assert out == (frames(C1, pretty, b"[DONE]") if wants_usage else frames(C1, b"[DONE]"))
    assert relay.usage == Usage(input_tokens=5, output_tokens=6, reported=True)


def test_usage_text_inside_content_is_not_mistaken_for_usage() -> None:
    tricky = content_chunk('the "choices":[], "usage": {"prompt_tokens": 999} text')
    out, relay = relay_all(frames(tricky, b"[DONE]"), wants_usage=False)
    assert out == frames(tricky, b"[DONE]")
    assert relay.usage == Usage()


def test_an_empty_choices_chunk_without_usage_is_forwarded() -> None:
    filters = b'{"id":"","choices":[],"prompt_filter_results":[{"prompt_index":0}]}'
    out, relay = relay_all(frames(filters, C1, b"[DONE]"), wants_usage=False)
    assert out == frames(filters, C1, b"[DONE]")
    assert relay.usage == Usage()


# The terminal frame


def test_done_is_forwarded_once_and_nothing_follows() -> None:
    relay = new_relay(wants_usage=False)
    first = relay.feed(frames(C1, b"[DONE]", C2, b"[DONE]"))
    assert first == frames(C1) + DONE_FRAME
    assert relay.finished is True
    assert relay.feed(frames(C3, b"[DONE]")) == b""
    assert relay.feed(b'data: {"error": {"message": "late"}}\n\n') == b""
    assert relay.end() == b""
    assert relay.error is None


def test_done_without_a_trailing_blank_line_is_delivered_at_end() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(C1) + b"data: [DONE]")
    assert relay.finished is False
    out += relay.end()
    assert out == frames(C1, b"[DONE]")
    assert relay.finished is True
    assert relay.error is None


def test_a_finished_stream_closed_without_done_gets_its_done() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(C1, C2, C3))
    assert out == frames(C1, C2, C3)
    assert relay.finished is False
    tail = relay.end()
    assert tail == DONE_FRAME
    assert relay.finished is True
    assert relay.error is None
    assert relay.end() == b""


def test_a_finished_stream_with_usage_closed_without_done_keeps_its_usage() -> None:
    out, relay = relay_all(frames(C1, C3, USAGE_ONLY), wants_usage=False)
    assert out == frames(C1, C3, b"[DONE]")
    assert relay.usage == EXPECTED_USAGE
    assert relay.error is None


# Errors


def test_upstream_error_payload_becomes_an_in_band_error_and_stops() -> None:
    upstream_error = jsonx.dumps({"error": {"message": f"server failed for key {FAKE_KEY}", "type": "server_error"}})
    out, relay = relay_all(frames(C1, upstream_error, C2, b"[DONE]"), wants_usage=False)
    assert out.startswith(frames(C1))
    assert_only_data_frames(out)
    assert b"[DONE]" not in out
    assert C2 not in out
    error = error_of(out)
    assert error["code"] == "upstream_stream_error"
    assert error["type"] == "api_error"
    assert error["param"] is None
    assert "server failed for key" in error["message"]
    assert FAKE_KEY not in error["message"]
    assert FAKE_KEY.encode() not in out
    assert relay.error is not None
    assert relay.error.code == "upstream_stream_error"
    assert relay.finished is True
    assert len(client_events(out)) == 2


def test_nothing_is_relayed_after_an_error_even_in_later_feeds() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(b'{"error": "boom"}'))
    assert error_of(out)["message"] == "boom"
    assert relay.finished is True
    assert relay.feed(frames(C1, b"[DONE]")) == b""
    assert relay.end() == b""
    assert relay.error is not None
    assert relay.error.message == "boom"


def test_event_error_becomes_an_in_band_error() -> None:
    upstream = frames(C1) + b'event: error\ndata: {"error": {"message": "overloaded"}}\n\n' + frames(C2, b"[DONE]")
    out, relay = relay_all(upstream, wants_usage=False)
    assert b"event:" not in out
    assert out.startswith(frames(C1))
    assert error_of(out) == {
        "message": "overloaded",
        "type": "api_error",
        "param": None,
        "code": "upstream_stream_error",
    }
    assert C2 not in out
    assert b"[DONE]" not in out
    assert relay.error is not None
    assert relay.finished is True


@pytest.mark.parametrize("data", [b"{}", b'{"error": null}', b'{"error": {"message": ""}}', b"[]"])
def test_event_error_with_unusable_data_gets_a_generic_message(data: bytes) -> None:
    out, relay = relay_all(b"event: error\ndata: " + data + b"\n\n", wants_usage=False)
    assert error_of(out)["message"] == "The upstream provider reported an error mid-stream."
    assert error_of(out)["code"] == "upstream_stream_error"
    assert relay.error is not None


def test_event_error_with_non_json_data_is_still_an_in_band_error() -> None:
    out, relay = relay_all(b"event: error\ndata: not json at all\n\n" + frames(C1, b"[DONE]"), wants_usage=False)
    assert len(client_events(out)) == 1
    assert error_of(out)["code"] == "upstream_stream_error"
    assert b"not json" not in out
    assert relay.error is not None


def test_an_error_object_with_spaces_is_still_an_error() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(b'data: { "error" : {"message": "overloaded"}}\n\n')
    assert relay.error is not None
    assert error_of(out)["message"] == "overloaded"
    assert relay.finished is True


@pytest.mark.parametrize(
    "broken", [b"not json at all", b'{"usage": {"prompt_tokens": 1', b'{"choices": [', b"{'single': 'quotes'}"]
)
def test_a_malformed_data_frame_ends_the_stream_with_an_error(broken: bytes) -> None:
    out, relay = relay_all(frames(C1, broken, C2, b"[DONE]"), wants_usage=False)
    assert relay.error is not None
    assert relay.error.code == "upstream_stream_error"
    assert out == frames(C1) + error_frame(relay.error)
    assert broken not in out
    assert b"[DONE]" not in out
    assert relay.usage == Usage()
    assert relay.finished is True


def test_interleaved_parallel_tool_call_arguments_end_with_an_error() -> None:
    upstream = frames(
        tool_chunk(0, "", call_id="call_a", name="a"),
        tool_chunk(1, "", call_id="call_b", name="b"),
        tool_chunk(0, '{"late": true}'),
        b"[DONE]",
    )
    out, relay = relay_all(upstream, wants_usage=False)
    assert relay.error is not None
    assert relay.error.code == "upstream_stream_error"
    assert out == upstream[: upstream.index(frames(tool_chunk(0, '{"late": true}')))] + error_frame(relay.error)


# Streams that break


def test_a_stream_ending_without_done_ends_with_an_interrupted_error() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(C1, C2))
    assert out == frames(C1, C2)
    tail = relay.end()
    assert b"[DONE]" not in tail
    assert relay.error is not None
    assert relay.error.code == "stream_interrupted"
    assert tail == error_frame(relay.error)
    assert error_of(tail)["code"] == "stream_interrupted"
    assert relay.finished is True
    assert relay.end() == b""  # a second end adds nothing


def test_end_on_an_empty_stream_is_only_the_error() -> None:
    relay = new_relay(wants_usage=True)
    out = relay.end()
    assert [event.data for event in client_events(out)] == [
        jsonx.dumps(
            {
                "error": {
                    "message": "The upstream stream ended before completion.",
                    "type": "api_error",
                    "param": None,
                    "code": "stream_interrupted",
                }
            }
        )
    ]
    assert relay.finished is True


def test_end_mid_event_ends_with_an_error_and_never_a_done() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(C1, C3) + b"data: " + USAGE_ONLY[:10])  # finish_reason seen, then cut mid-frame
    out += relay.end()
    assert b"[DONE]" not in out
    assert relay.error is not None
    assert out == frames(C1, C3) + error_frame(relay.error)  # the cut-off fragment is not forwarded
    # The fragment reaches the parser as a malformed frame; either code is an honest in-band error.
    assert relay.error.code in ("upstream_stream_error", "stream_interrupted")
    assert relay.finished is True


def test_fail_ends_the_stream_with_the_given_error() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(C1))
    timeout = UpstreamTimeout("The upstream stopped sending.")
    out += relay.fail(timeout)
    assert out == frames(C1) + error_frame(timeout)
    assert relay.error is timeout
    assert relay.finished is True
    assert relay.feed(frames(C2, b"[DONE]")) == b""
    assert relay.end() == b""
    assert relay.fail(UpstreamError("again")) == b""
    assert relay.error is timeout


def test_fail_after_done_adds_nothing() -> None:
    relay = new_relay(wants_usage=False)
    relay.feed(frames(C1, b"[DONE]"))
    assert relay.fail(UpstreamError("too late")) == b""
    assert relay.error is None
    assert relay.finished is True


def test_fail_after_an_error_frame_adds_nothing() -> None:
    relay = new_relay(wants_usage=False)
    relay.feed(frames(b'{"error": "boom"}'))
    assert relay.fail(UpstreamError("too late")) == b""
    assert relay.error is not None
    assert relay.error.message == "boom"


def test_fail_after_end_adds_nothing() -> None:
    relay = new_relay(wants_usage=False)
    relay.feed(frames(C1))
    relay.end()
    assert relay.fail(UpstreamError("too late")) == b""
    assert relay.error is not None
    assert relay.error.code == "stream_interrupted"


# Oversized frames (the FrameReader caps one frame at 8 MiB)


def assert_oversized(out: bytes, relay: StreamRelay) -> None:
    assert relay.error is not None
    assert relay.error.code == "upstream_stream_error"
    assert out.endswith(error_frame(relay.error))
    assert b"[DONE]" not in out
    assert relay.finished is True
    assert relay.feed(frames(C2, b"[DONE]")) == b""
    assert relay.end() == b""


def test_an_oversized_frame_ends_the_stream_with_an_error() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(C1))
    out += relay.feed(b"data: " + b"x" * (9 * MIB) + b"\n\n")
    assert out.startswith(frames(C1))
    assert len(client_events(out)) == 2
    assert_oversized(out, relay)


def test_an_oversized_frame_arriving_in_pieces_ends_the_stream_with_an_error() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(frames(C1) + b"data: ")
    for _ in range(9):
        out += relay.feed(b"x" * MIB)
    out += relay.feed(b"\n\n")
    assert out.startswith(frames(C1))
    assert len(client_events(out)) == 2
    assert_oversized(out, relay)


def test_an_oversized_frame_that_never_ends_still_gets_the_error() -> None:
    relay = new_relay(wants_usage=False)
    out = relay.feed(b"data: " + b"x" * (9 * MIB))
    assert_oversized(out, relay)


# Progress frames


def progress_payload(event: SSEEvent) -> dict[str, Any]:
    assert event.event == "progress"
    body = jsonx.loads(event.data)
    assert isinstance(body, dict)
    return body


def test_progress_done_comes_immediately_before_done() -> None:
    relay = new_relay(wants_usage=False, progress=True)
    out = relay.feed(frames(C1, C2, C3, USAGE_ONLY, b"[DONE]")) + relay.end()
    events = client_events(out)
    assert [event.data for event in events[:3]] == [C1, C2, C3]
    assert events[-1] == SSEEvent(None, b"[DONE]")
    payload = progress_payload(events[-2])
    assert payload["done"] is True
    assert payload["tokens_generated"] == 2
    assert isinstance(payload["elapsed_ms"], int)
    assert out.endswith(b"\n\n" + DONE_FRAME)
    assert out.count(b"event: progress") == 1
    assert relay.usage == EXPECTED_USAGE


def test_progress_done_comes_before_an_appended_done() -> None:
    relay = new_relay(wants_usage=False, progress=True)
    out = relay.feed(frames(C1, C3)) + relay.end()
    events = client_events(out)
    assert [event.data for event in events[:2]] == [C1, C3]
    assert progress_payload(events[2])["done"] is True
    assert events[3] == SSEEvent(None, b"[DONE]")
    assert len(events) == 4


@pytest.mark.parametrize(
    "stream", [frames(C1, b'{"error": "boom"}'), frames(C1), frames(C1, b"not json")], ids=["error", "cut", "malformed"]
)
def test_a_failed_stream_gets_no_done_progress(stream: bytes) -> None:
    relay = new_relay(wants_usage=False, progress=True)
    out = relay.feed(stream) + relay.end()
    assert b'"done":true' not in out
    assert b"[DONE]" not in out
    assert relay.error is not None


def test_without_progress_there_are_no_progress_frames() -> None:
    out, _ = relay_all(frames(C1, C3, b"[DONE]"), wants_usage=False)
    assert b"progress" not in out


# Chunking never changes the output

STREAMS = {
    "noisy-lf": NOISY,
    "noisy-crlf": NOISY.replace(b"\n", b"\r\n"),
    "noisy-cr": NOISY.replace(b"\n", b"\r"),
    "error": frames(C1) + b'event: error\r\ndata: {"error": {"message": "x"}}\r\n\r\n' + frames(C2),
    "truncated": frames(C1, C2) + b"data: " + C3[:20],
    "done-then-more": frames(C1, b"[DONE]", C2),
    "finished-without-done": frames(C1, C3, USAGE_ONLY),
    "interrupted": frames(C1, C2),
    "malformed": frames(C1, b'{"choices": [', C2, b"[DONE]"),
    "pretty-usage": frames(C1, b'{"choices": [], "usage": {"prompt_tokens": 5}}', b"[DONE]"),
}


@pytest.mark.parametrize("name", list(STREAMS))
@pytest.mark.parametrize("wants_usage", [True, False])
def test_every_two_chunk_split_equals_whole(name: str, wants_usage: bool) -> None:
    stream = STREAMS[name]
    whole, whole_relay = relay_all(stream, wants_usage)
    for cut in range(len(stream) + 1):
        out, relay = relay_chunks([stream[:cut], stream[cut:]], wants_usage)
        assert out == whole, f"split at byte {cut}"
        assert state(relay) == state(whole_relay)


@pytest.mark.parametrize("name", list(STREAMS))
def test_byte_by_byte_equals_whole(name: str) -> None:
    stream = STREAMS[name]
    whole, whole_relay = relay_all(stream, wants_usage=False)
    out, relay = relay_chunks([stream[i : i + 1] for i in range(len(stream))], wants_usage=False)
    assert out == whole
    assert state(relay) == state(whole_relay)


@pytest.mark.parametrize("name", list(STREAMS))
@pytest.mark.parametrize("seed", range(10))
def test_random_chunkings_equal_whole(name: str, seed: int) -> None:
    stream = STREAMS[name]
    rng = random.Random(seed)
    chunks = []
    position = 0
    while position < len(stream):
        size = rng.randint(0, 40)
        chunks.append(stream[position : position + size])
        position += size
    whole, whole_relay = relay_all(stream, wants_usage=True)
    out, relay = relay_chunks(chunks, wants_usage=True)
    assert out == whole
    assert state(relay) == state(whole_relay)
