"""OpenAIStreamRelay: only `data:` frames out, usage captured, clean or in-band-error endings."""

from __future__ import annotations

import random
from typing import Any

import pytest

from shared import jsonx
from shared.canonical.usage import Usage
from shared.formats.openai_chat.stream import DONE_FRAME, OpenAIStreamRelay, error_frame
from shared.sse import SSEEvent, SSEParser

FAKE_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"


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


def relay_all(stream: bytes, wants_usage: bool) -> tuple[bytes, OpenAIStreamRelay]:
    relay = OpenAIStreamRelay(wants_usage)
    return relay.feed(stream) + relay.finish(), relay


def relay_chunks(chunks: list[bytes], wants_usage: bool) -> tuple[bytes, OpenAIStreamRelay]:
    relay = OpenAIStreamRelay(wants_usage)
    out = b"".join(relay.feed(chunk) for chunk in chunks)
    return out + relay.finish(), relay


def client_events(output: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    return parser.feed(output) + parser.close()


def assert_only_data_frames(output: bytes) -> None:
    for frame in output.split(b"\n\n")[:-1]:
        assert frame.startswith(b"data: "), frame
        assert all(line.startswith(b"data: ") for line in frame.split(b"\n")), frame
    assert output.endswith(b"\n\n") or output == b""


def state(relay: OpenAIStreamRelay) -> tuple[Any, ...]:
    return relay.usage, relay.done, relay.chunks, None if relay.error is None else relay.error.code


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


def test_data_frames_pass_through_byte_identical() -> None:
    upstream = frames(C1, C2, C3, USAGE_ONLY, b"[DONE]")
    out, relay = relay_all(upstream, wants_usage=True)
    assert out == upstream
    assert relay.done is True
    assert relay.error is None


def test_non_ascii_payload_is_byte_identical() -> None:
    upstream = frames(content_chunk("héllo – 世界 🌍"), b"[DONE]")
    assert relay_all(upstream, wants_usage=False)[0] == upstream


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_noise_lines_are_dropped(end: bytes) -> None:
    out, relay = relay_all(NOISY.replace(b"\n", end), wants_usage=True)
    assert out == frames(C1, C2, C3, USAGE_ONLY, b"[DONE]")
    assert_only_data_frames(out)
    for forbidden in (b"id:", b"event:", b"retry:", b": keep-alive", b": ping", b"\r"):
        assert forbidden not in out
    assert relay.done is True


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


def test_usage_with_spaces_around_the_colon_is_recognised() -> None:
    pretty = b'{"choices": [], "usage" :  {"prompt_tokens": 5, "completion_tokens": 6}}'
    out, relay = relay_all(frames(C1, pretty, b"[DONE]"), wants_usage=False)
    assert out == frames(C1, b"[DONE]")
    assert relay.usage == Usage(input_tokens=5, output_tokens=6, reported=True)


def test_usage_text_inside_content_is_not_mistaken_for_usage() -> None:
    tricky = content_chunk('the "usage": {"prompt_tokens": 999} text')
    out, relay = relay_all(frames(tricky, b"[DONE]"), wants_usage=False)
    assert out == frames(tricky, b"[DONE]")
    assert relay.usage == Usage()


def test_malformed_json_that_looks_like_usage_is_forwarded() -> None:
    broken = b'{"usage": {"prompt_tokens": 1'
    out, relay = relay_all(frames(broken, b"[DONE]"), wants_usage=False)
    assert out == frames(broken, b"[DONE]")
    assert relay.usage == Usage()


def test_chunks_are_counted() -> None:
    _, relay = relay_all(frames(C1, C2, C3, USAGE_ONLY, b"[DONE]"), wants_usage=True)
    assert relay.chunks == 4


def test_done_is_forwarded_once_and_nothing_follows() -> None:
    relay = OpenAIStreamRelay(wants_usage=False)
    first = relay.feed(frames(C1, b"[DONE]", C2, b"[DONE]"))
    assert first == frames(C1) + DONE_FRAME
    assert relay.done is True
    assert relay.feed(frames(C3, b"[DONE]")) == b""
    assert relay.feed(b'data: {"error": {"message": "late"}}\n\n') == b""
    assert relay.finish() == b""
    assert relay.error is None
    assert relay.chunks == 1


def test_done_without_a_trailing_blank_line_is_delivered_at_finish() -> None:
    relay = OpenAIStreamRelay(wants_usage=False)
    out = relay.feed(frames(C1) + b"data: [DONE]")
    assert relay.done is False
    out += relay.finish()
    assert out == frames(C1, b"[DONE]")
    assert relay.done is True
    assert relay.error is None


def error_of(out: bytes) -> dict[str, Any]:
    last = client_events(out)[-1]
    body = jsonx.loads(last.data)
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


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
    assert relay.done is False
    assert len(client_events(out)) == 2


def test_nothing_is_relayed_after_an_error_even_in_later_feeds() -> None:
    relay = OpenAIStreamRelay(wants_usage=False)
    out = relay.feed(frames(b'{"error": "boom"}'))
    assert error_of(out)["message"] == "boom"
    assert relay.feed(frames(C1, b"[DONE]")) == b""
    assert relay.finish() == b""
    assert relay.done is False


def test_event_error_becomes_an_in_band_error() -> None:
    upstream = frames(C1) + b'event: error\ndata: {"error": {"message": "overloaded"}}\n\n' + frames(C2, b"[DONE]")
    out, relay = relay_all(upstream, wants_usage=False)
    assert b"event:" not in out
    assert error_of(out) == {
        "message": "overloaded",
        "type": "api_error",
        "param": None,
        "code": "upstream_stream_error",
    }
    assert C2 not in out
    assert relay.error is not None


@pytest.mark.parametrize("data", [b"not json at all", b"{}", b'{"error": null}', b'{"error": {"message": ""}}', b"[]"])
def test_event_error_with_unusable_data_gets_a_generic_message(data: bytes) -> None:
    out, _ = relay_all(b"event: error\ndata: " + data + b"\n\n", wants_usage=False)
    assert error_of(out)["message"] == "The upstream provider reported an error mid-stream."


def test_finish_without_done_appends_an_interrupted_error() -> None:
    relay = OpenAIStreamRelay(wants_usage=False)
    out = relay.feed(frames(C1, C2))
    assert out == frames(C1, C2)
    tail = relay.finish()
    assert b"[DONE]" not in tail
    assert relay.error is not None
    assert relay.error.code == "stream_interrupted"
    assert tail == error_frame(relay.error)
    assert error_of(tail)["code"] == "stream_interrupted"
    assert relay.done is False
    assert relay.finish() == b""  # a second finish adds nothing


def test_finish_on_an_empty_stream_is_only_the_error() -> None:
    relay = OpenAIStreamRelay(wants_usage=True)
    out = relay.finish()
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


def test_finish_mid_event_delivers_the_partial_event_then_the_error() -> None:
    relay = OpenAIStreamRelay(wants_usage=False)
    out = relay.feed(frames(C1) + b"data: " + C2[:10])
    out += relay.finish()
    events = client_events(out)
    assert [event.data for event in events[:2]] == [C1, C2[:10]]
    assert jsonx.loads(events[2].data)["error"]["code"] == "stream_interrupted"
    assert b"[DONE]" not in out


def test_multiline_data_is_relayed_as_one_well_formed_event() -> None:
    upstream = b'data: {"choices": [],\ndata:  "usage": null}\n\n' + frames(b"[DONE]")
    out, _ = relay_all(upstream, wants_usage=False)
    assert_only_data_frames(out)
    assert [event.data for event in client_events(out)] == [b'{"choices": [],\n "usage": null}', b"[DONE]"]


def test_output_parses_to_the_upstream_events() -> None:
    out, _ = relay_all(NOISY, wants_usage=True)
    assert [event.data for event in client_events(out)] == [C1, C2, C3, USAGE_ONLY, b"[DONE]"]
    assert all(event.event is None and event.id is None for event in client_events(out))


STREAMS = {
    "noisy-lf": NOISY,
    "noisy-crlf": NOISY.replace(b"\n", b"\r\n"),
    "noisy-cr": NOISY.replace(b"\n", b"\r"),
    "error": frames(C1) + b'event: error\r\ndata: {"error": {"message": "x"}}\r\n\r\n' + frames(C2),
    "truncated": frames(C1, C2) + b"data: " + C3[:20],
    "done-then-more": frames(C1, b"[DONE]", C2),
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


def test_an_error_object_with_spaces_is_still_an_error() -> None:
    relay = OpenAIStreamRelay(wants_usage=False)
    out = relay.feed(b'data: { "error" : {"message": "overloaded"}}\n\n')
    assert relay.error is not None
    assert b"overloaded" in out


def test_an_oversized_upstream_event_ends_the_stream_with_an_error() -> None:
    relay = OpenAIStreamRelay(wants_usage=False)
    relay._parser = SSEParser(max_event_bytes=32)  # a small cap stands in for the 8 MiB default
    out = relay.feed(b"data: " + b"x" * 64 + b"\n\n")
    assert relay.error is not None
    assert relay.error.code == "upstream_stream_error"
    assert out.startswith(b'data: {"error"')
    assert relay.feed(b"data: [DONE]\n\n") == b""
    assert relay.finish() == b""
