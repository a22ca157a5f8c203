"""Splitting an upstream body into frames (SSE events or NDJSON lines), and writing frames back.

Every dialect's stream parser works on frames, so the same reader serves translation and
same-dialect passthrough (which re-emits normalised frames: no comments, ids or retry fields).
"""

from __future__ import annotations

from shared.formats.base import Framing
from shared.sse import SSEEvent, SSEParser, data_frame, event_frame

__all__ = ["FrameReader", "FrameTooLarge", "write_frame"]

_MAX_LINE = 8 * 1024 * 1024


class FrameTooLarge(ValueError):
    """One frame exceeded the size cap (a hostile or broken upstream)."""


class _LineReader:
    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        frames: list[SSEEvent] = []
        start = 0
        buffer = self._buffer
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buffer[start:end]).strip()
            if line:
                frames.append(SSEEvent(None, line))
            start = end + 1
        if start:
            del buffer[:start]
        if len(buffer) > _MAX_LINE:
            raise FrameTooLarge("an NDJSON line exceeds the size cap")
        return frames

    def close(self) -> list[SSEEvent]:
        line = bytes(self._buffer).strip()
        self._buffer.clear()
        return [SSEEvent(None, line)] if line else []


class FrameReader:
    __slots__ = ("_reader",)

    def __init__(self, framing: Framing) -> None:
        self._reader: SSEParser | _LineReader = SSEParser(_MAX_LINE) if framing == "sse" else _LineReader()

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        try:
            return self._reader.feed(chunk)
        except ValueError as exc:  # SSETooLarge
            raise FrameTooLarge(str(exc)) from None

    def close(self) -> list[SSEEvent]:
        try:
            return self._reader.close()
        except ValueError as exc:
            raise FrameTooLarge(str(exc)) from None


def write_frame(frame: SSEEvent, framing: Framing) -> bytes:
    if framing == "ndjson":
        return frame.data + b"\n"
    if frame.event is None:
        return data_frame(frame.data)
    return event_frame(frame.event, frame.data)
