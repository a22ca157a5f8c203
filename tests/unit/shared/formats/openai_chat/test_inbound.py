"""OpenAI Chat inbound: request validation and the error body shape."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.errors import BadRequest, GatewayError, RateLimited, UpstreamError
from shared.formats.base import RequestContext
from shared.formats.openai_chat.inbound import error_body, render_error
from shared.formats.openai_chat.inbound import parse_request as parse_openai


class ChatRequest:
    """The few facts these tests read, from the parsed request and the decoded body."""

    def __init__(self, raw: bytes) -> None:
        parsed = parse_openai(raw, RequestContext())
        self.body = parsed.body
        self.model = parsed.request.model
        self.stream = parsed.request.stream
        self.wants_usage = parsed.request.wants_usage_in_stream


def parse_request(raw: bytes) -> ChatRequest:
    return ChatRequest(raw)


MESSAGES = [{"role": "user", "content": "hi"}]


def request(**fields: Any) -> bytes:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES}
    body.update(fields)
    return jsonx.dumps({k: v for k, v in body.items() if v is not ...})


def bad(raw: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse_request(raw)
    error = info.value
    assert error.status == 400
    assert error.kind == "invalid_request_error"
    assert error.retryable is False
    assert error.fallback_allowed is False
    return error


def test_minimal_valid_request() -> None:
    parsed = parse_request(request())
    assert isinstance(parsed, ChatRequest)
    assert parsed.model == "gpt-4o-mini"
    assert parsed.stream is False
    assert parsed.wants_usage is False
    assert parsed.body == {"model": "gpt-4o-mini", "messages": MESSAGES}


def test_body_keeps_unknown_fields() -> None:
    raw = request(tools=[{"type": "function", "function": {"name": "f"}}], x_vendor={"a": [1, 2]}, seed=3)
    assert parse_request(raw).body["x_vendor"] == {"a": [1, 2]}


def test_model_is_stripped_for_routing() -> None:
    assert parse_request(request(model="  gpt-4o  ")).model == "gpt-4o"


@pytest.mark.parametrize("stream", [True, False])
def test_stream_flag(stream: bool) -> None:
    assert parse_request(request(stream=stream)).stream is stream


def test_stream_null_means_false() -> None:
    # OpenAI documents `stream` as "boolean or null".
    assert parse_request(request(stream=None)).stream is False


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"{'model': 'x'}", b"\xff\xfe", b'{"model": "x",}'])
def test_malformed_json(raw: bytes) -> None:
    error = bad(raw)
    assert error.code == "invalid_json"
    assert error.param is None


@pytest.mark.parametrize("raw", [b"[]", b"[1]", b'"text"', b"42", b"null", b"true"])
def test_non_object_body(raw: bytes) -> None:
    assert bad(raw).code == "invalid_json"


@pytest.mark.parametrize("model", [..., None, "", "   ", 5, ["gpt-4o"], {"id": "gpt-4o"}])
def test_missing_or_blank_model(model: Any) -> None:
    error = bad(request(model=model))
    assert error.param == "model"
    assert error.code == "missing_required_parameter"


@pytest.mark.parametrize("messages", [..., None])
def test_missing_messages(messages: Any) -> None:
    error = bad(request(messages=messages))
    assert error.param == "messages"
    assert error.code == "missing_required_parameter"
    assert "messages" in error.message


@pytest.mark.parametrize("messages", [[], "hello", {"role": "user"}, 1, True])
def test_messages_not_a_non_empty_array(messages: Any) -> None:
    error = bad(request(messages=messages))
    assert error.param == "messages"
    assert error.code == "invalid_request"


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (["hello"], "messages[0]"),
        ([None], "messages[0]"),
        ([[{"role": "user"}]], "messages[0]"),
        ([{"role": "user", "content": "a"}, 3], "messages[1]"),
    ],
)
def test_message_not_an_object(messages: Any, param: str) -> None:
    assert bad(request(messages=messages)).param == param


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"content": "hi"}], "messages[0].role"),
        ([{"role": "", "content": "hi"}], "messages[0].role"),
        ([{"role": None, "content": "hi"}], "messages[0].role"),
        ([{"role": 1, "content": "hi"}], "messages[0].role"),
        ([{"role": "system", "content": "s"}, {"content": "hi"}], "messages[1].role"),
    ],
)
def test_message_missing_role(messages: Any, param: str) -> None:
    assert bad(request(messages=messages)).param == param


@pytest.mark.parametrize("stream", ["true", 1, 0, "yes", [], {}])
def test_stream_not_bool(stream: Any) -> None:
    assert bad(request(stream=stream)).param == "stream"


@pytest.mark.parametrize("value", [0, 0.0, 1, 1.5, 2, 2.0])
def test_temperature_in_range(value: float) -> None:
    parse_request(request(temperature=value))


@pytest.mark.parametrize("value", [-0.01, 2.01, 100, -1, True, False, "1", [1], {}])
def test_temperature_out_of_range_or_wrong_type(value: Any) -> None:
    assert bad(request(temperature=value)).param == "temperature"


def test_temperature_null_is_allowed() -> None:
    parse_request(request(temperature=None))


@pytest.mark.parametrize("value", [0, 0.5, 1])
def test_top_p_in_range(value: float) -> None:
    parse_request(request(top_p=value))


@pytest.mark.parametrize("value", [-0.1, 1.01, 2, True, "0.5"])
def test_top_p_out_of_range(value: Any) -> None:
    assert bad(request(top_p=value)).param == "top_p"


@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens", "n"])
@pytest.mark.parametrize("value", [0, -1, 1.0, 1.5, True, False, "10", [10]])
def test_positive_int_fields_reject_bad_values(name: str, value: Any) -> None:
    assert bad(request(**{name: value})).param == name


@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens", "n"])
@pytest.mark.parametrize("value", [1, 4096, None])
def test_positive_int_fields_accept_good_values(name: str, value: Any) -> None:
    parse_request(request(**{name: value}))


@pytest.mark.parametrize(
    ("options", "wants"),
    [
        (..., False),
        (None, False),
        ({}, False),
        ({"include_usage": True}, True),
        ({"include_usage": False}, False),
        ({"include_usage": "true"}, False),
        ({"include_usage": 1}, False),
        ({"include_usage": True, "include_obfuscation": False}, True),
    ],
)
def test_wants_usage_from_stream_options(options: Any, wants: bool) -> None:
    assert parse_request(request(stream=True, stream_options=options)).wants_usage is wants


@pytest.mark.parametrize("options", ["yes", [], 1, True])
def test_stream_options_not_an_object(options: Any) -> None:
    assert bad(request(stream=True, stream_options=options)).param == "stream_options"


def test_error_messages_do_not_echo_the_body() -> None:
    raw = request(messages=[{"content": "fake-secret-in-prompt"}])
    assert "fake-secret-in-prompt" not in bad(raw).message


@pytest.mark.parametrize(
    "error",
    [
        BadRequest("bad thing", param="messages", code="missing_required_parameter"),
        BadRequest("plain"),
        RateLimited("slow down"),
        UpstreamError("upstream broke", code="upstream_auth_error"),
        GatewayError("boom"),
    ],
)
def test_render_error_shape(error: GatewayError) -> None:
    rendered = jsonx.loads(render_error(error))
    assert rendered == {
        "error": {"message": error.message, "type": error.kind, "param": error.param, "code": error.code}
    }
    assert list(rendered["error"]) == ["message", "type", "param", "code"]
    assert error_body(error) == rendered


def test_render_error_of_a_parse_failure() -> None:
    with pytest.raises(BadRequest) as info:
        parse_request(request(messages=...))
    assert jsonx.loads(render_error(info.value)) == {
        "error": {
            "message": "'messages' is a required property",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "missing_required_parameter",
        }
    }
