"""OpenAI Chat outbound: upstream body, usage, Retry-After, error classification."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unprocessable,
    UpstreamError,
    UpstreamTimeout,
)
from shared.canonical.usage import Usage
from shared.formats.base import BuildOptions
from shared.formats.openai_chat.outbound import classify_error, passthrough_request
from shared.formats.openai_chat.usage import parse_usage
from shared.formats.upstream_errors import retry_after_seconds


def build_request(body: dict[str, Any], model: str, stream: bool) -> bytes:
    """Same-dialect forwarding: the client's body with the model swapped (and usage asked for)."""
    request = ChatRequest(model="alias", messages=(Message("user", (Text("hi"),)),), stream=stream)
    return passthrough_request(body, request, BuildOptions(model=model)).body


def usage_from_body(raw: bytes) -> Usage:
    try:
        body = jsonx.loads(raw)
    except jsonx.JSONDecodeError:
        return Usage()
    return parse_usage(body.get("usage")) if isinstance(body, dict) else Usage()


FAKE_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"


def error_body(message: Any) -> bytes:
    return jsonx.dumps({"error": {"message": message, "type": "invalid_request_error", "code": None}})


# --- build_request -------------------------------------------------------------------------


def test_build_request_replaces_model_and_keeps_unknown_fields() -> None:
    body = {
        "model": "my-alias",
        "messages": [{"role": "user", "content": "hi"}],
        "x_vendor_field": {"nested": [1, 2, {"deep": None}]},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "temperature": 0.2,
        "metadata": None,
    }
    sent = jsonx.loads(build_request(body, "gpt-4o-2024-08-06", stream=False))
    assert sent["model"] == "gpt-4o-2024-08-06"
    assert {k: v for k, v in sent.items() if k != "model"} == {k: v for k, v in body.items() if k != "model"}
    assert "stream_options" not in sent


def test_build_request_does_not_mutate_the_client_body() -> None:
    options = {"include_obfuscation": False}
    body = {"model": "alias", "messages": [], "stream": True, "stream_options": options}
    build_request(body, "upstream", stream=True)
    assert body["model"] == "alias"
    assert options == {"include_obfuscation": False}


@pytest.mark.parametrize("client_options", [None, {}, {"include_usage": False}, {"include_usage": True}])
def test_streaming_asks_for_usage(client_options: Any) -> None:
    body: dict[str, Any] = {"model": "alias", "messages": [], "stream": True}
    if client_options is not None:
        body["stream_options"] = client_options
    sent = jsonx.loads(build_request(body, "upstream", stream=True))
    assert sent["stream_options"] == {"include_usage": True}


def test_streaming_keeps_other_stream_options() -> None:
    body = {"model": "alias", "messages": [], "stream": True, "stream_options": {"include_obfuscation": False}}
    sent = jsonx.loads(build_request(body, "upstream", stream=True))
    assert sent["stream_options"] == {"include_obfuscation": False, "include_usage": True}


def test_non_streaming_leaves_stream_options_alone() -> None:
    body = {"model": "alias", "messages": [], "stream_options": {"include_usage": False}}
    sent = jsonx.loads(build_request(body, "upstream", stream=False))
    assert sent["stream_options"] == {"include_usage": False}


# --- usage ---------------------------------------------------------------------------------

FULL_USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 45,
    "total_tokens": 165,
    "prompt_tokens_details": {"cached_tokens": 100, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 30, "audio_tokens": 0},
}


def test_parse_usage_full() -> None:
    assert parse_usage(FULL_USAGE) == Usage(
        input_tokens=120, output_tokens=45, cached_tokens=100, reasoning_tokens=30, reported=True
    )


def test_parse_usage_without_details() -> None:
    assert parse_usage({"prompt_tokens": 3, "completion_tokens": 4}) == Usage(
        input_tokens=3, output_tokens=4, reported=True
    )


@pytest.mark.parametrize("details", [None, "x", 5, [], {}, {"cached_tokens": None}])
def test_parse_usage_with_odd_details(details: Any) -> None:
    usage = {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "prompt_tokens_details": details,
        "completion_tokens_details": details,
    }
    assert parse_usage(usage) == Usage(input_tokens=1, output_tokens=2, reported=True)


@pytest.mark.parametrize("garbage", ["12", 1.5, True, False, -3, None, [1], {"n": 1}])
def test_parse_usage_garbage_counts_are_zero(garbage: Any) -> None:
    usage = {
        "prompt_tokens": garbage,
        "completion_tokens": garbage,
        "prompt_tokens_details": {"cached_tokens": garbage},
        "completion_tokens_details": {"reasoning_tokens": garbage},
    }
    assert parse_usage(usage) == Usage(reported=True)


def test_parse_usage_empty_dict_is_reported() -> None:
    assert parse_usage({}) == Usage(reported=True)


@pytest.mark.parametrize("usage", [None, [], "usage", 5, True])
def test_parse_usage_non_object_is_not_reported(usage: Any) -> None:
    assert parse_usage(usage) == Usage()
    assert parse_usage(usage).reported is False


def test_usage_from_body() -> None:
    raw = jsonx.dumps({"id": "chatcmpl-1", "choices": [], "usage": FULL_USAGE})
    assert usage_from_body(raw) == parse_usage(FULL_USAGE)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'{"id": "x"}', b'{"usage": null}', b'"usage"'])
def test_usage_from_body_without_usage(raw: bytes) -> None:
    assert usage_from_body(raw) == Usage()


# --- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": ""}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "20"}, 0.02),
        ({"retry-after-ms": "-1"}, 0.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after-ms": "", "retry-after": "9"}, 9.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "1e999"}, None),
        ({"retry-after-ms": "inf", "retry-after": "3"}, 3.0),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(headers) == seconds


def test_retry_after_seconds_with_case_insensitive_headers() -> None:
    assert retry_after_seconds(CIMultiDict({"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(CIMultiDict({"Retry-After-Ms": "700", "Retry-After": "7"})) == 0.7


# --- classify_error ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "1.2"}, {"Retry-After": "2"}),
        ({"retry-after": "3"}, {"Retry-After": "3"}),
        ({"retry-after-ms": "10"}, {"Retry-After": "1"}),
        ({"retry-after-ms": "0"}, {"Retry-After": "0"}),
        ({}, {}),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, {}),
        ({"retry-after": "inf"}, {}),
        ({"retry-after-ms": "1e999"}, {}),
    ],
)
def test_429_is_rate_limited_with_retry_after_rounded_up(headers: dict[str, str], expected: dict[str, str]) -> None:
    error = classify_error(429, headers, error_body("Rate limit reached for requests"))
    assert isinstance(error, RateLimited)
    assert error.status == 429
    assert {k: v for k, v in error.headers.items() if k == "Retry-After"} == expected
    assert error.retryable is True
    assert error.fallback_allowed is True
    assert error.message == "Rate limit reached for requests"


def test_429_without_a_body_has_a_default_message() -> None:
    error = classify_error(429, {}, b"")
    assert isinstance(error, RateLimited)
    assert error.message


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_never_echo_the_upstream_message(status: int) -> None:
    raw = error_body(f"Incorrect API key provided: {FAKE_KEY}. You can find your API key at ...")
    error = classify_error(status, {}, raw)
    assert type(error) is UpstreamError
    assert error.code == "upstream_auth_error"
    assert error.status == 502
    assert "Incorrect" not in error.message
    assert "sk-" not in error.message
    assert error.retryable is True
    assert error.fallback_allowed is True


def test_404_is_not_found_with_fallback() -> None:
    error = classify_error(404, {}, error_body("The model `gpt-9` does not exist"))
    assert isinstance(error, NotFound)
    assert error.status == 404
    assert error.code == "model_not_found"
    assert error.fallback_allowed is True
    assert error.message == "The model `gpt-9` does not exist"


def test_404_without_a_body() -> None:
    error = classify_error(404, {}, b"<html>not found</html>")
    assert isinstance(error, NotFound)
    assert error.fallback_allowed is True
    assert "<html>" not in error.message


def test_408_is_a_timeout() -> None:
    error = classify_error(408, {}, error_body("timeout"))
    assert isinstance(error, UpstreamTimeout)
    assert error.status == 504
    assert error.retryable is True
    assert error.fallback_allowed is True


def test_413_is_payload_too_large() -> None:
    error = classify_error(413, {}, error_body("too big"))
    assert isinstance(error, PayloadTooLarge)
    assert error.status == 413
    assert error.message == "too big"
    assert error.fallback_allowed is False


def test_422_is_unprocessable() -> None:
    error = classify_error(422, {}, b"")
    assert isinstance(error, Unprocessable)
    assert error.status == 422
    assert error.message


@pytest.mark.parametrize("status", [400, 402, 405, 409, 418, 451, 499])
def test_other_4xx_are_bad_requests_with_the_upstream_message(status: int) -> None:
    error = classify_error(status, {}, error_body("Invalid value for 'tool_choice'"))
    assert type(error) is BadRequest
    assert error.status == 400
    assert error.message == "Invalid value for 'tool_choice'"
    assert error.retryable is False
    assert error.fallback_allowed is False


@pytest.mark.parametrize("status", [400, 409])
def test_other_4xx_without_a_message_name_the_status(status: int) -> None:
    error = classify_error(status, {}, b"not json")
    assert type(error) is BadRequest
    assert str(status) in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520, 529, 599])
def test_5xx_are_retryable_upstream_errors(status: int) -> None:
    error = classify_error(status, {}, error_body(f"internal detail {FAKE_KEY}"))
    assert type(error) is UpstreamError
    assert error.code == "upstream_error"
    assert error.retryable is True
    assert error.fallback_allowed is True
    assert str(status) in error.message
    assert FAKE_KEY not in error.message


@pytest.mark.parametrize("status", [400, 404, 413, 422, 429])
def test_secrets_in_upstream_messages_are_redacted(status: int) -> None:
    message = f"Bad key {FAKE_KEY} with header Authorization: Bearer abcdefghijklmnopqrstuvwxyz and api_key=hunter22"
    error = classify_error(status, {}, error_body(message))
    assert FAKE_KEY not in error.message
    assert "abcdefghijklmnopqrstuvwxyz" not in error.message
    assert "hunter22" not in error.message
    assert "[REDACTED]" in error.message


def test_error_given_as_a_string() -> None:
    error = classify_error(400, {}, jsonx.dumps({"error": "plain string error"}))
    assert error.message == "plain string error"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{}",
        b"[]",
        jsonx.dumps({"error": {"message": ""}}),
        jsonx.dumps({"error": {"message": 5}}),
        jsonx.dumps({"error": None}),
        jsonx.dumps({"message": "top-level"}),
    ],
)
def test_unusable_bodies_give_the_default_message(raw: bytes) -> None:
    error = classify_error(400, {}, raw)
    assert error.message == "The upstream provider rejected the request (HTTP 400)."


def test_upstream_message_is_capped() -> None:
    error = classify_error(400, {}, error_body("x" * 10_000))
    assert len(error.message) == 2000


@pytest.mark.parametrize(
    ("headers", "expected_ms"),
    [
        ({"retry-after-ms": "1500"}, "1500"),
        ({"x-ratelimit-reset-requests": "6m0s"}, "360000"),
        ({"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1.5s"}, "1500"),
        ({"x-ratelimit-reset-tokens": "1h2m3s"}, "3723000"),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT", "x-ratelimit-reset-requests": "2s"}, "2000"),
        ({"x-ratelimit-reset-requests": "soon"}, None),
    ],
)
def test_429_wait_comes_from_retry_after_ms_or_reset_headers(headers: dict[str, str], expected_ms: str | None) -> None:
    error = classify_error(429, headers, b"")
    assert error.headers.get("retry-after-ms") == expected_ms
