"""Gemini errors both ways (the error body a client sees, the classification of an upstream's),
and the shape of a rendered answer."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Text, Thinking, ToolCall
from shared.canonical.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
)
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.gemini.inbound import render_error, render_result
from shared.formats.gemini.outbound import classify_error

FAKE_KEY = "AIzaSyA-fake-key-0123456789abcdefghijk"


# --- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BadRequest("bad thing", param="contents[0].role"), "INVALID_ARGUMENT"),
        (BadRequest("plain"), "INVALID_ARGUMENT"),
        (NotFound("no such model"), "NOT_FOUND"),
        (RateLimited("slow down", headers={"Retry-After": "3"}), "RESOURCE_EXHAUSTED"),
        (UpstreamError("upstream broke", code="upstream_auth_error"), "UNAVAILABLE"),
        (GatewayError("boom"), "INTERNAL"),
        (GatewayError("teapot", status=418), "FAILED_PRECONDITION"),
    ],
)
def test_render_error_shape(error: GatewayError, status: str) -> None:
    rendered = jsonx.loads(render_error(error))
    assert list(rendered) == ["error"]
    inner = rendered["error"]
    assert (inner["code"], inner["message"], inner["status"]) == (error.status, error.message, status)
    types = [d["@type"].rsplit(".", 1)[-1] for d in inner["details"]]
    assert types[0] == "ErrorInfo"
    assert inner["details"][0]["reason"] == error.code.upper()
    assert ("BadRequest" in types) == bool(error.param)
    assert ("RetryInfo" in types) == ("Retry-After" in error.headers)


def test_render_error_field_violation_and_retry_delay() -> None:
    inner = jsonx.loads(render_error(BadRequest("'x' is bad", param="generationConfig.topP")))["error"]
    assert inner["details"][1]["fieldViolations"] == [{"field": "generationConfig.topP", "description": "'x' is bad"}]
    inner = jsonx.loads(render_error(RateLimited("slow", headers={"Retry-After": "7"})))["error"]
    assert inner["details"][1]["retryDelay"] == "7s"


def test_render_result_shape() -> None:
    result = ChatResult(
        id="resp-1",
        model="gemini-2.5-flash",
        content=(
            Thinking("plan"),
            Text("Calling."),
            Thinking("", "c2lnLXRleHQ="),
            ToolCall(id="call_1", name="f", arguments='{"a": 1}', signature="c2lnLWNhbGw="),
            ToolCall(id="call_2", name="g"),
        ),
        stop_reason="tool_use",
        usage=Usage(input_tokens=10, output_tokens=30, cached_tokens=4, reasoning_tokens=20, reported=True),
    )
    rendered = jsonx.loads(render_result(result, ChatRequest(model="m", messages=())))
    assert rendered == {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "plan", "thought": True},
                        {"text": "Calling.", "thoughtSignature": "c2lnLXRleHQ="},
                        {
                            "functionCall": {"id": "call_1", "name": "f", "args": {"a": 1}},
                            "thoughtSignature": "c2lnLWNhbGw=",
                        },
                        {"functionCall": {"id": "call_2", "name": "g", "args": {}}},
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 10,
            "candidatesTokenCount": 10,
            "totalTokenCount": 40,
            "cachedContentTokenCount": 4,
            "thoughtsTokenCount": 20,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1",
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end", "STOP"),
        ("max_tokens", "MAX_TOKENS"),
        ("content_filter", "SAFETY"),
        ("refusal", "SAFETY"),
        ("stop_sequence", "STOP"),
        ("pause", "STOP"),
        ("error", "OTHER"),
    ],
)
def test_render_result_finish_reasons_and_unreported_usage(stop: Any, finish: str) -> None:
    result = ChatResult(id="r", model="m", content=(Text("x"),), stop_reason=stop)
    rendered = jsonx.loads(render_result(result, ChatRequest(model="m", messages=())))
    assert rendered["candidates"][0]["finishReason"] == finish
    assert "usageMetadata" not in rendered


# --- classify_error -----------------------------------------------------------------------------


def google_error(code: int, message: str, status: str, details: list[dict[str, Any]] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return jsonx.dumps({"error": error})


RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}


@pytest.mark.parametrize(
    ("headers", "details", "expected"),
    [
        ({"retry-after": "3"}, [RETRY_INFO], {"Retry-After": "3"}),
        ({}, [RETRY_INFO], {"Retry-After": "34"}),
        ({}, [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}], {"Retry-After": "2"}),
        ({}, [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "soon"}], {}),
        ({}, [], {}),
    ],
)
def test_429_is_rate_limited_with_retry_after(
    headers: dict[str, str], details: list[dict[str, Any]], expected: dict[str, str]
) -> None:
    raw = google_error(429, "You exceeded your current quota.", "RESOURCE_EXHAUSTED", details)
    error = classify_error(429, headers, raw)
    assert isinstance(error, RateLimited)
    assert {k: v for k, v in error.headers.items() if k == "Retry-After"} == expected
    assert error.retryable is True
    assert error.message == "You exceeded your current quota."


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        (401, google_error(401, f"Request had invalid authentication credentials {FAKE_KEY}", "UNAUTHENTICATED")),
        (403, google_error(403, f"Permission denied on key {FAKE_KEY}", "PERMISSION_DENIED")),
        (
            400,
            google_error(
                400,
                f"API key not valid. Please pass a valid API key. {FAKE_KEY}",
                "INVALID_ARGUMENT",
                [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
            ),
        ),
    ],
)
def test_refused_credentials_are_not_echoed(status: int, raw: bytes) -> None:
    error = classify_error(status, {}, raw)
    assert isinstance(error, UpstreamError)
    assert error.code == "upstream_auth_error"
    assert FAKE_KEY not in error.message
    assert "API key not valid" not in error.message


@pytest.mark.parametrize(
    ("status", "grpc", "kind"),
    [
        (500, "INTERNAL", UpstreamError),
        (503, "UNAVAILABLE", UpstreamError),
        (504, "DEADLINE_EXCEEDED", UpstreamTimeout),
    ],
)
def test_server_errors_are_retryable(status: int, grpc: str, kind: type) -> None:
    error = classify_error(status, {}, google_error(status, "The model is overloaded.", grpc))
    assert isinstance(error, kind)
    assert error.retryable is True
    assert error.fallback_allowed is True


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, BadRequest), (404, NotFound), (413, PayloadTooLarge)],
)
def test_client_errors_keep_the_upstream_message(status: int, kind: type) -> None:
    raw = google_error(status, "* GenerateContentRequest.contents: contents is not specified", "INVALID_ARGUMENT")
    error = classify_error(status, {}, raw)
    assert isinstance(error, kind)
    assert "contents is not specified" in error.message


@pytest.mark.parametrize("raw", [b"", b"<html>Bad Gateway</html>", b"[]", b'{"error": "x"}'])
def test_unusual_error_bodies(raw: bytes) -> None:
    assert classify_error(502, {}, raw).status == 502
    assert classify_error(400, {}, raw).status == 400
