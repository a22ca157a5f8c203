"""Incremental Server-Sent Events: parse bytes as they arrive, render frames.

The parser follows the WHATWG event-stream rules (LF, CRLF or CR line ends; `data` lines joined
with LF; comment lines ignored; an event dispatched on a blank line) and caps the size of one
event so a hostile upstream cannot grow memory without bound.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SSEEvent", "SSEParser", "SSETooLarge", "data_frame", "event_frame"]


class SSETooLarge(ValueError):
    """One event exceeded the parser's size cap."""


class SSEEvent(NamedTuple):
    event: str | None
    data: bytes
    id: str | None = None
    retry: int | None = None


class SSEParser:
    __slots__ = (
        "_buffer",
        "_data",
        "_data_bytes",
        "_event",
        "_has_data",
        "_id",
        "_max_event_bytes",
        "_pending_cr",
        "_retry",
    )

    def __init__(self, max_event_bytes: int = 8 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max_event_bytes = max_event_bytes
        self._pending_cr = False
        self._reset()

    def _reset(self) -> None:
        self._event: str | None = None
        self._data: list[bytes] = []
        self._data_bytes = 0
        self._has_data = False
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume bytes; return every event completed by them."""
        if not chunk:
            return []  # keep a pending CR pending: its LF may still come
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = chunk.endswith(b"\r")
        buffer = self._buffer
        buffer += chunk
        if b"\r" in chunk:
            # Normalise CRLF and lone CR to LF (bytearray.replace returns a copy).
            normalised = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            buffer = self._buffer = bytearray(normalised)
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            event = self._line(bytes(buffer[start:end]))
            if event is not None:
                events.append(event)
            start = end + 1
        if start:
            del buffer[:start]
        if len(buffer) + self._data_bytes > self._max_event_bytes:
            raise SSETooLarge("server-sent event exceeds the size cap")
        return events

    def _line(self, line: bytes) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == 0x3A:  # ":" comment
            return None
        name, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._data_bytes += len(value)
            if self._data_bytes > self._max_event_bytes:
                raise SSETooLarge("server-sent event exceeds the size cap")
            self._has_data = True
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._has_data:
            self._reset()
            return None
        event = SSEEvent(self._event, b"\n".join(self._data), self._id, self._retry)
        self._reset()
        return event

    def close(self) -> list[SSEEvent]:
        """End of input: an unterminated trailing event is still delivered (lenient, like browsers' data)."""
        events: list[SSEEvent] = []
        if self._buffer:
            event = self._line(bytes(self._buffer))
            self._buffer.clear()
            if event is not None:
                events.append(event)
        last = self._dispatch()
        if last is not None:
            events.append(last)
        return events


def _data_lines(payload: bytes) -> bytes:
    """A payload with line breaks needs one `data:` field per line (the parser joins them back with LF)."""
    if b"\n" in payload or b"\r" in payload:
        payload = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\ndata: ")
    return b"data: " + payload + b"\n\n"


def data_frame(payload: bytes) -> bytes:
    """An unnamed event (the only kind OpenAI clients accept)."""
    return _data_lines(payload)


def event_frame(name: str, payload: bytes) -> bytes:
    return b"event: " + name.encode() + b"\n" + _data_lines(payload)
