"""SSEParser: WHATWG line endings and fields, chunking invariance, size cap; frame rendering."""

from __future__ import annotations

import random

import pytest

from shared.sse import SSEEvent, SSEParser, SSETooLarge, data_frame, event_frame


def parse_whole(stream: bytes, **kwargs: int) -> list[SSEEvent]:
    parser = SSEParser(**kwargs)
    return parser.feed(stream) + parser.close()


def parse_chunks(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.close()


def random_chunks(stream: bytes, rng: random.Random, max_size: int = 7) -> list[bytes]:
    chunks = []
    position = 0
    while position < len(stream):
        size = rng.randint(0, max_size)  # 0 gives an empty chunk now and then
        chunks.append(stream[position : position + size])
        position += size
    return chunks


# One stream exercising every rule, written with "\n"; converted to the other line ends below.
RICH_STREAM = (
    b": comment at the start\n"
    b"retry: 1500\n"
    b"data: first\n"
    b"\n"
    b"event: update\n"
    b"id: 42\n"
    b"data: line one\n"
    b"data:line two\n"
    b"data:  two spaces\n"
    b"\n"
    b"\n"
    b"event: nodata\n"
    b"\n"
    b": ping\n"
    b"data\n"
    b"\n"
    b'data: {"caf\xc3\xa9": "\xe2\x82\xac"}\n'
    b"unknown: field\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)

RICH_EVENTS = [
    SSEEvent(None, b"first", None, 1500),
    SSEEvent("update", b"line one\nline two\n two spaces", "42", None),
    SSEEvent(None, b"", None, None),
    SSEEvent(None, '{"café": "€"}'.encode(), None, None),
    SSEEvent(None, b"[DONE]", None, None),
]

LINE_ENDS = [pytest.param(b"\n", id="LF"), pytest.param(b"\r\n", id="CRLF"), pytest.param(b"\r", id="CR")]


def with_line_end(stream: bytes, end: bytes) -> bytes:
    return stream.replace(b"\n", end)


@pytest.mark.parametrize("end", LINE_ENDS)
def test_rich_stream_with_each_line_ending(end: bytes) -> None:
    assert parse_whole(with_line_end(RICH_STREAM, end)) == RICH_EVENTS


def test_mixed_line_endings_in_one_stream() -> None:
    stream = b"data: a\r\ndata: b\rdata: c\n\r\nevent: x\rdata: d\r\r"
    assert parse_whole(stream) == [SSEEvent(None, b"a\nb\nc"), SSEEvent("x", b"d")]


@pytest.mark.parametrize("end", LINE_ENDS)
def test_every_two_chunk_split_equals_whole(end: bytes) -> None:
    stream = with_line_end(RICH_STREAM, end)
    for cut in range(len(stream) + 1):
        assert parse_chunks([stream[:cut], stream[cut:]]) == RICH_EVENTS, f"split at byte {cut}"


@pytest.mark.parametrize("end", LINE_ENDS)
def test_byte_by_byte_equals_whole(end: bytes) -> None:
    stream = with_line_end(RICH_STREAM, end)
    assert parse_chunks([stream[i : i + 1] for i in range(len(stream))]) == RICH_EVENTS


@pytest.mark.parametrize("end", LINE_ENDS)
@pytest.mark.parametrize("seed", range(20))
def test_random_chunkings_equal_whole(end: bytes, seed: int) -> None:
    stream = with_line_end(RICH_STREAM, end)
    chunks = random_chunks(stream, random.Random(seed))
    assert b"".join(chunks) == stream
    assert parse_chunks(chunks) == RICH_EVENTS


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r") == [SSEEvent(None, b"a\nb")]
    assert parser.feed(b"\n") == []  # the LF of the final CRLF: not another blank line
    assert parser.close() == []


def test_cr_then_cr_across_chunks_is_two_line_ends() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\r") == [SSEEvent(None, b"a")]


def test_empty_chunk_between_cr_and_lf_keeps_the_crlf_together() -> None:
    # Regression: an empty chunk used to forget the pending CR, so the LF became a blank line.
    assert parse_chunks([b"data: a\r", b"", b"\ndata: b\r\n\r\n"]) == [SSEEvent(None, b"a\nb")]


def test_empty_chunks_yield_nothing() -> None:
    parser = SSEParser()
    assert parser.feed(b"") == []
    assert parser.close() == []


def test_multiline_data_joined_with_lf() -> None:
    assert parse_whole(b"data: a\ndata: b\ndata: c\n\n") == [SSEEvent(None, b"a\nb\nc")]


def test_empty_data_lines_are_kept() -> None:
    assert parse_whole(b"data:\ndata:\n\n") == [SSEEvent(None, b"\n")]


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data: x", b"x"),
        (b"data:x", b"x"),
        (b"data:  x", b" x"),
        (b"data: ", b""),
        (b"data:", b""),
        (b"data", b""),
        (b"data: a: b", b"a: b"),
        (b"data:\tx", b"\tx"),
    ],
)
def test_data_value_with_and_without_leading_space(line: bytes, data: bytes) -> None:
    assert parse_whole(line + b"\n\n") == [SSEEvent(None, data)]


def test_comment_lines_are_ignored() -> None:
    stream = b": hello\n:\n:data: not data\ndata: real\n: between\n\n"
    assert parse_whole(stream) == [SSEEvent(None, b"real")]


def test_only_comments_dispatch_nothing() -> None:
    assert parse_whole(b": keep-alive\n\n: keep-alive\n\n") == []


def test_event_id_and_retry_fields() -> None:
    stream = b"event: error\nid: abc-1\nretry: 250\ndata: {}\n\n"
    assert parse_whole(stream) == [SSEEvent("error", b"{}", "abc-1", 250)]


@pytest.mark.parametrize("value", [b"soon", b"-5", b"1.5", b"", b" 10"])
def test_non_digit_retry_is_ignored(value: bytes) -> None:
    assert parse_whole(b"retry: " + value + b"\ndata: x\n\n") == [SSEEvent(None, b"x", None, None)]


def test_fields_reset_after_each_event() -> None:
    stream = b"event: one\nid: 1\nretry: 5\ndata: a\n\ndata: b\n\n"
    assert parse_whole(stream) == [SSEEvent("one", b"a", "1", 5), SSEEvent(None, b"b", None, None)]


def test_blank_line_without_data_dispatches_nothing_and_forgets_fields() -> None:
    stream = b"\n\n\nevent: orphan\nid: 7\n\ndata: later\n\n"
    assert parse_whole(stream) == [SSEEvent(None, b"later", None, None)]


def test_unknown_fields_and_lines_without_colon_are_ignored() -> None:
    assert parse_whole(b"foo: bar\nbaz\nDATA: upper\ndata: ok\n\n") == [SSEEvent(None, b"ok")]


def test_invalid_utf8_in_event_name_is_replaced_not_raised() -> None:
    assert parse_whole(b"event: \xff\ndata: x\n\n") == [SSEEvent("\ufffd", b"x")]


def test_data_bytes_are_not_decoded() -> None:
    assert parse_whole(b"data: \xff\xfe\n\n") == [SSEEvent(None, b"\xff\xfe")]


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (b"data: tail", [SSEEvent(None, b"tail")]),
        (b"data: tail\n", [SSEEvent(None, b"tail")]),
        (b"data: a\ndata: b", [SSEEvent(None, b"a\nb")]),
        (b"event: e\ndata: x\r", [SSEEvent("e", b"x")]),
        (b"event: e", []),
        (b": comment", []),
        (b"", []),
    ],
)
def test_close_delivers_an_unterminated_final_event(tail: bytes, expected: list[SSEEvent]) -> None:
    parser = SSEParser()
    assert parser.feed(b"data: done\n\n") == [SSEEvent(None, b"done")]
    assert parser.feed(tail) == []
    assert parser.close() == expected


def test_close_twice_is_harmless() -> None:
    parser = SSEParser()
    parser.feed(b"data: x")
    assert parser.close() == [SSEEvent(None, b"x")]
    assert parser.close() == []


def test_size_cap_on_one_long_unterminated_line() -> None:
    parser = SSEParser(max_event_bytes=64)
    with pytest.raises(SSETooLarge):
        parser.feed(b"data: " + b"x" * 100)


def test_size_cap_on_a_long_line_fed_byte_by_byte() -> None:
    parser = SSEParser(max_event_bytes=64)
    for _ in range(64):
        assert parser.feed(b"x") == []  # at the cap: still fine
    with pytest.raises(SSETooLarge):
        parser.feed(b"x")


def test_size_cap_on_many_data_lines_without_a_blank_line() -> None:
    parser = SSEParser(max_event_bytes=64)
    for _ in range(6):
        assert parser.feed(b"data: 0123456789\n") == []  # 60 bytes of data held
    with pytest.raises(SSETooLarge):
        parser.feed(b"data: 0123456789\n")


def test_size_cap_is_per_event_not_per_stream() -> None:
    parser = SSEParser(max_event_bytes=64)
    events: list[SSEEvent] = []
    for _ in range(100):
        events += parser.feed(b"data: 0123456789\n\n")
    assert len(events) == 100


def test_sse_too_large_is_a_value_error() -> None:
    assert issubclass(SSETooLarge, ValueError)


def test_default_cap_allows_a_large_event() -> None:
    payload = b"y" * 1_000_000
    assert parse_whole(b"data: " + payload + b"\n\n") == [SSEEvent(None, payload)]


def test_data_frame_rendering() -> None:
    assert data_frame(b'{"a":1}') == b'data: {"a":1}\n\n'
    assert data_frame(b"[DONE]") == b"data: [DONE]\n\n"
    assert data_frame(b"") == b"data: \n\n"


def test_event_frame_rendering() -> None:
    assert event_frame("error", b'{"x":1}') == b'event: error\ndata: {"x":1}\n\n'


@pytest.mark.parametrize("payload", [b"a\nb", b"a\r\nb", b"a\rb", b"\n", b"line\n\nafter blank"])
def test_data_frame_with_line_breaks_is_still_one_event(payload: bytes) -> None:
    expected = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    assert parse_whole(data_frame(payload)) == [SSEEvent(None, expected)]
    assert parse_whole(event_frame("name", payload)) == [SSEEvent("name", expected)]


@pytest.mark.parametrize("payload", [b"x", b'{"choices":[]}', b"", b" leading space", b": not a comment"])
def test_frames_round_trip_through_the_parser(payload: bytes) -> None:
    assert parse_whole(data_frame(payload)) == [SSEEvent(None, payload)]
    assert parse_whole(event_frame("ping", payload)) == [SSEEvent("ping", payload)]


def test_size_cap_on_one_oversized_event_arriving_in_one_chunk() -> None:
    parser = SSEParser(max_event_bytes=64)
    with pytest.raises(SSETooLarge):
        parser.feed(b"data: " + b"x" * 100 + b"\n\n")
