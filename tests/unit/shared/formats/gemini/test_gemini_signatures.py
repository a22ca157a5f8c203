"""Gemini thought signatures on the wire: base64 as the SDKs need, any origin round-trips exactly."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text, Thinking, ToolCall
from shared.canonical.events import (
    StreamEvent,
    explode,
    fold,
)
from shared.canonical.result import ChatResult
from shared.formats.framing import FrameReader
from shared.formats.gemini import DIALECT
from shared.formats.gemini.render_stream import GeminiStreamRenderer
from shared.formats.gemini.wire import signature_in, signature_out
from tests.contract.fixtures import parse_stream

REQUEST = ChatRequest(model="gemini-2.5-flash", messages=(Message("user", (Text("hi"),)),), stream=True)


def sse(*chunks: dict[str, Any] | bytes) -> bytes:
    return b"".join(b"data: " + (c if isinstance(c, bytes) else jsonx.dumps(c)) + b"\r\n\r\n" for c in chunks)


def events_of(raw: bytes) -> list[StreamEvent]:
    return parse_stream(DIALECT, raw)


def render(events: list[StreamEvent]) -> bytes:
    renderer = GeminiStreamRenderer(REQUEST)
    return b"".join(renderer.render(e) for e in events)


def frames(wire: bytes) -> list[dict[str, Any]]:
    reader = FrameReader("sse")
    out = [jsonx.loads(f.data) for f in reader.feed(wire) + reader.close()]
    assert all(isinstance(f, dict) for f in out)
    return out


# --- signatures on the wire ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "CiQBY3YPdZB19vcGf5eRsz2+Rj3w03x4YIuWADvWFQw=",
        "YWJj",
        "sig_59edc0e9",
        "omni:anthropic:EqQBCkgIARAB",
        "YQ",
        "YR==",
        "é→",
    ],
)
def test_any_signature_survives_the_wire_and_base64_ones_are_untouched(signature: str) -> None:
    wired = signature_out(signature)
    assert base64.b64encode(base64.b64decode(wired, validate=True)).decode() == wired  # what the SDKs need
    assert signature_in(wired) == signature
    canonical = signature in ("CiQBY3YPdZB19vcGf5eRsz2+Rj3w03x4YIuWADvWFQw=", "YWJj")
    assert (wired == signature) is canonical


def test_signatures_from_other_providers_reach_a_gemini_client_as_base64_and_come_back() -> None:
    result = ChatResult(
        id="r",
        model="m",
        content=(
            Thinking("t", "omni:anthropic:Eq1"),
            Text("x"),
            ToolCall("c", "f", signature="omni:openai_responses:gAAA"),
        ),
    )
    for wire in (render(explode(result)), sse(jsonx.loads(DIALECT.render_result(result, REQUEST)))):
        for body in frames(wire):
            for part in body["candidates"][0]["content"]["parts"]:
                if "thoughtSignature" in part:
                    base64.b64decode(part["thoughtSignature"], validate=True)
        assert fold(events_of(wire)).content == result.content
