"""Answering one fake provider request: faults, the ledger, JSON or a stream, for every dialect.

A dialect module supplies a `Wire` (how its provider writes answers and errors) and a
`Conversation` read from its request format; this module applies the scripted faults uniformly:
status codes, a delay before the first byte, a stall after the headers, pacing between events, a
connection cut after N events, an in-band error after N events, noise lines and garbage frames.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from typing import Any, Protocol

from aiohttp import web

from services.fake_upstream.engine import Conversation, FakeAnswer, answer
from services.fake_upstream.faults import Fault, FaultScript, parse_directive

__all__ = ["LEDGER", "RECENT_BODIES", "SCRIPT", "Wire", "api_key_of", "bad_request", "respond", "text_of"]

SCRIPT = web.AppKey("script", FaultScript)
LEDGER: web.AppKey[deque[dict[str, Any]]] = web.AppKey("ledger")
# The last few request bodies as received (path, bytes): what a gateway really sent, for tests.
RECENT_BODIES: web.AppKey[deque[tuple[str, bytes]]] = web.AppKey("recent_bodies")


class Wire(Protocol):
    """How one provider writes its answers."""

    framing: str  # "sse" or "ndjson"
    stream_media_type: str

    def json(self, conversation: Conversation, answer: FakeAnswer) -> bytes: ...

    def frames(self, conversation: Conversation, answer: FakeAnswer) -> list[bytes]:
        """The stream as complete frames (an SSE event with its blank line, or an NDJSON line)."""
        ...

    def error(self, status: int, message: str) -> bytes: ...

    def stream_error(self, message: str) -> bytes:
        """The provider's in-band error frame."""
        ...


def api_key_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:]
    return request.headers.get("x-api-key") or request.headers.get("x-goog-api-key") or request.query.get("key")


def _fingerprint(key: str | None) -> str | None:
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else None


def _fault(request: web.Request, conversation: Conversation) -> Fault:
    fault = parse_directive(request.headers.get("X-Fake-Fault"), conversation.last_user_text)
    if fault.is_empty:
        fault = request.app[SCRIPT].take(conversation.model, _fingerprint(api_key_of(request)))
    return fault


def _record(request: web.Request, conversation: Conversation, stream: bool, status: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "ts": time.time(),
        "path": request.path,
        "model": conversation.model,
        "stream": stream,
        "status": status,
        "key": _fingerprint(api_key_of(request)),
        "outcome": "answered",
    }
    request.app[LEDGER].append(entry)
    return entry


def _noisy(frame: bytes, index: int, wire: Wire) -> bytes:
    if wire.framing != "sse":
        return frame
    return b": keep-alive\nid: " + str(index).encode() + b"\nretry: 1000\n" + frame


async def _stream(
    request: web.Request, wire: Wire, conversation: Conversation, fault: Fault, entry: dict[str, Any]
) -> web.StreamResponse:
    """Write the frames; the ledger says whether the client (the gateway) went away before the end."""
    entry["outcome"] = "streaming"
    try:
        response = await _write_frames(request, wire, conversation, fault)
    except (ConnectionResetError, asyncio.CancelledError):
        entry["outcome"] = "client_gone"
        entry["gone_at"] = time.time()
        raise
    if entry["outcome"] == "streaming":
        entry["outcome"] = "answered"
    return response


async def _write_frames(
    request: web.Request, wire: Wire, conversation: Conversation, fault: Fault
) -> web.StreamResponse:
    frames = wire.frames(conversation, answer(conversation, fault))
    response = web.StreamResponse(
        status=200, headers={"Content-Type": wire.stream_media_type, "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    if fault.stall_after_headers_ms:
        await asyncio.sleep(fault.stall_after_headers_ms / 1000)
    for index, frame in enumerate(frames):
        if fault.cut_after is not None and index >= fault.cut_after:
            if request.transport is not None:
                request.transport.abort()  # a broken connection, not a clean end
            return response
        if fault.upstream_error_after is not None and index >= fault.upstream_error_after:
            await response.write(wire.stream_error("The server had an error while processing your request."))
            return response
        if fault.chunk_delay_ms and index:
            await asyncio.sleep(fault.chunk_delay_ms / 1000)
        if fault.garbage and index == 1:
            await response.write(b"data: {not json\n\n" if wire.framing == "sse" else b"{not json\n")
        await response.write(_noisy(frame, index, wire) if fault.noise else frame)
    await response.write_eof()
    return response


async def respond(request: web.Request, wire: Wire, conversation: Conversation, stream: bool) -> web.StreamResponse:
    request.app[RECENT_BODIES].append((request.path, await request.read()))  # read before: cached, no I/O
    if conversation.refusal is not None:
        _record(request, conversation, stream, 400)
        return bad_request(wire, conversation.refusal)
    fault = _fault(request, conversation)
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.status is not None and fault.status >= 400:
        _record(request, conversation, stream, fault.status)
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
        return web.Response(
            status=fault.status,
            body=wire.error(fault.status, f"Scripted failure {fault.status}."),
            content_type="application/json",
            headers=headers,
        )
    entry = _record(request, conversation, stream, 200)
    if stream:
        return await _stream(request, wire, conversation, fault, entry)
    return web.Response(body=wire.json(conversation, answer(conversation, fault)), content_type="application/json")


def bad_request(wire: Wire, message: str) -> web.Response:
    return web.Response(status=400, body=wire.error(400, message), content_type="application/json")


def text_of(content: Any) -> str:
    """Plain text of a content value that is a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""
