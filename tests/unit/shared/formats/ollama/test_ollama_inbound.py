"""Ollama inbound: request validation (400s naming the field), unsupported features, tool-call pairing,
and the shapes of results, errors and the model list as the official `ollama` SDK reads them."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, Message, Text, Thinking, ToolCall
from shared.canonical.errors import BadRequest
from shared.formats.base import RequestContext
from shared.formats.ollama.inbound import parse_request as parse_ollama

MESSAGES = [{"role": "user", "content": "hi"}]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def body_of(**fields: Any) -> bytes:
    body: dict[str, Any] = {"model": "llama3.2", "messages": MESSAGES}
    body.update(fields)
    return jsonx.dumps({k: v for k, v in body.items() if v is not ...})


def parse(raw: bytes) -> ChatRequest:
    return parse_ollama(raw, RequestContext()).request


def bad(raw: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse(raw)
    error = info.value
    assert error.status == 400
    assert error.retryable is False
    return error


# --- the basics --------------------------------------------------------------------------------


def test_minimal_request() -> None:
    parsed = parse_ollama(body_of(), RequestContext())
    request = parsed.request
    assert request.model == "llama3.2"
    assert request.dialect == "ollama"
    assert request.messages == (Message("user", (Text("hi"),)),)
    assert request.unsupported == ()
    assert parsed.body == {"model": "llama3.2", "messages": MESSAGES}


@pytest.mark.parametrize(("stream", "expected"), [(..., True), (None, True), (True, True), (False, False)])
def test_stream_defaults_to_true(stream: Any, expected: bool) -> None:
    assert parse(body_of(stream=stream)).stream is expected


@pytest.mark.parametrize("stream", ["true", 1, 0, [], {}])
def test_stream_not_bool(stream: Any) -> None:
    assert bad(body_of(stream=stream)).param == "stream"


def test_model_is_stripped() -> None:
    assert parse(body_of(model="  qwen3:8b ")).model == "qwen3:8b"


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"model": "x",}'])
def test_malformed_json(raw: bytes) -> None:
    assert bad(raw).code == "invalid_json"


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
def test_non_object_body(raw: bytes) -> None:
    assert bad(raw).code == "invalid_json"


@pytest.mark.parametrize("model", [..., None, "", "  ", 5, ["llama3.2"]])
def test_missing_or_blank_model(model: Any) -> None:
    error = bad(body_of(model=model))
    assert error.param == "model"
    assert error.code == "missing_required_parameter"


def test_missing_messages() -> None:
    error = bad(body_of(messages=...))
    assert error.param == "messages"
    assert error.code == "missing_required_parameter"


@pytest.mark.parametrize("messages", [[], "hello", {"role": "user"}, 1])
def test_messages_not_a_non_empty_array(messages: Any) -> None:
    assert bad(body_of(messages=messages)).param == "messages"


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (["hello"], "messages[0]"),
        ([{"role": "user", "content": "a"}, None], "messages[1]"),
        ([{"content": "hi"}], "messages[0].role"),
        ([{"role": "developer", "content": "hi"}], "messages[0].role"),
        ([{"role": 3, "content": "hi"}], "messages[0].role"),
        ([{"role": "user", "content": ["hi"]}], "messages[0].content"),
        ([{"role": "user", "content": {"text": "hi"}}], "messages[0].content"),
        ([{"role": "assistant", "content": "a", "thinking": 1}], "messages[0].thinking"),
        ([{"role": "tool", "content": "a", "tool_name": ["f"]}], "messages[0].tool_name"),
        ([{"role": "tool", "content": "a", "tool_call_id": 7}], "messages[0].tool_call_id"),
    ],
)
def test_bad_messages_name_the_field(messages: Any, param: str) -> None:
    assert bad(body_of(messages=messages)).param == param


def test_roles_are_case_insensitive_like_ollama() -> None:
    request = parse(body_of(messages=[{"role": "System", "content": "s"}, {"role": "USER", "content": "u"}]))
    assert [m.role for m in request.messages] == ["system", "user"]


def test_missing_content_is_empty_text() -> None:
    # the SDK drops empty values, so {"role": "user"} is what an empty prompt looks like
    assert parse(body_of(messages=[{"role": "user"}])).messages == (Message("user", (Text(""),)),)


def test_error_messages_do_not_echo_the_prompt() -> None:
    error = bad(body_of(messages=[{"role": "wizard", "content": "fake-secret-in-prompt"}]))
    assert "fake-secret-in-prompt" not in error.message


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (PNG, "image/png"),
        ("/9j/4AAQSkZJRg==", "image/jpeg"),
        ("R0lGODlhAQABAA==", "image/gif"),
        ("UklGRiQAAABXRUJQ", "image/webp"),
        ("AAAA", "image/png"),
    ],
)
def test_images_are_base64_with_sniffed_media_type(data: str, media_type: str) -> None:
    request = parse(body_of(messages=[{"role": "user", "content": "Describe it.", "images": [data]}]))
    assert request.messages[0].content == (Text("Describe it."), Image(data=data, media_type=media_type))


def test_data_url_images_are_accepted() -> None:
    request = parse(body_of(messages=[{"role": "user", "content": "x", "images": [f"data:image/jpeg;base64,{PNG}"]}]))
    assert request.messages[0].content[1] == Image(data=PNG, media_type="image/jpeg")


@pytest.mark.parametrize(
    ("images", "param"),
    [
        ("abc", "messages[0].images"),
        ({"0": PNG}, "messages[0].images"),
        ([PNG, 1], "messages[0].images[1]"),
        ([""], "messages[0].images[0]"),
        (["https://example.com/cat.png"], "messages[0].images[0]"),
        (["file:///tmp/cat.png"], "messages[0].images[0]"),
    ],
)
def test_bad_images(images: Any, param: str) -> None:
    assert bad(body_of(messages=[{"role": "user", "content": "x", "images": images}])).param == param


def test_images_in_assistant_and_system_messages_are_unsupported() -> None:
    request = parse(
        body_of(
            messages=[
                {"role": "system", "content": "s", "images": [PNG]},
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a", "images": [PNG]},
                {"role": "user", "content": "u"},
            ]
        )
    )
    assert request.unsupported == ("images in assistant messages", "images in system messages")
    assert request.messages[0].content == (Text("s"),)


# --- tool calls and results -----------------------------------------------------------------


def history(*messages: dict[str, Any]) -> ChatRequest:
    return parse(body_of(messages=[{"role": "user", "content": "Weather?"}, *messages], tools=[WEATHER]))


def call(name: str, city: str, **extra: Any) -> dict[str, Any]:
    return {**extra, "function": {"name": name, "arguments": {"city": city}}}


def test_tool_calls_without_ids_get_positional_ids_and_results_pair_by_name() -> None:
    request = history(
        {"role": "assistant", "tool_calls": [call("get_weather", "Paris"), call("get_time", "Paris")]},
        {"role": "tool", "tool_name": "get_time", "content": "10:00"},
        {"role": "tool", "tool_name": "get_weather", "content": "18C"},
    )
    assert request.messages[1].content == (
        ToolCall(id="call_1_0", name="get_weather", arguments='{"city":"Paris"}'),
        ToolCall(id="call_1_1", name="get_time", arguments='{"city":"Paris"}'),
    )
    first, second = request.messages[2].content[0], request.messages[3].content[0]
    assert (first.tool_call_id, first.name, first.content) == ("call_1_1", "get_time", (Text("10:00"),))
    assert (second.tool_call_id, second.name) == ("call_1_0", "get_weather")


def test_results_without_names_pair_by_position() -> None:
    request = history(
        {"role": "assistant", "tool_calls": [call("get_weather", "Paris"), call("get_weather", "Tokyo")]},
        {"role": "tool", "content": "18C"},
        {"role": "tool", "content": "24C"},
    )
    results = [m.content[0] for m in request.messages[2:]]
    assert [(r.tool_call_id, r.name) for r in results] == [("call_1_0", "get_weather"), ("call_1_1", "get_weather")]


def test_ids_sent_by_the_client_are_kept() -> None:
    request = history(
        {"role": "assistant", "tool_calls": [call("get_weather", "Paris", id="call_abc"), call("get_weather", "Rome")]},
        {"role": "tool", "tool_name": "get_weather", "tool_call_id": "call_abc", "content": "18C"},
        {"role": "tool", "tool_name": "get_weather", "content": "20C"},
    )
    assert [c.id for c in request.messages[1].content] == ["call_abc", "call_1_1"]
    assert [m.content[0].tool_call_id for m in request.messages[2:]] == ["call_abc", "call_1_1"]


def test_a_result_with_no_call_to_answer_keeps_its_own_id() -> None:
    request = parse(body_of(messages=[{"role": "user", "content": "x"}, {"role": "tool", "content": "orphan"}]))
    result = request.messages[1].content[0]
    assert (result.tool_call_id, result.name) == ("call_1", None)


def test_result_images_are_kept() -> None:
    request = history(
        {"role": "assistant", "tool_calls": [call("get_weather", "Paris")]},
        {"role": "tool", "tool_name": "get_weather", "content": "map", "images": [PNG]},
    )
    assert request.messages[2].content[0].content == (Text("map"), Image(data=PNG, media_type="image/png"))


def test_assistant_thinking_comes_first() -> None:
    request = history(
        {
            "role": "assistant",
            "content": "Let me check.",
            "thinking": "Use the tool.",
            "tool_calls": [call("get_weather", "Paris")],
        }
    )
    kinds = [type(p) for p in request.messages[1].content]
    assert kinds == [Thinking, Text, ToolCall]


@pytest.mark.parametrize(
    ("calls", "param"),
    [
        ({"function": {}}, "messages[1].tool_calls"),
        (["call"], "messages[1].tool_calls[0]"),
        ([{"name": "f"}], "messages[1].tool_calls[0].function"),
        ([{"function": {"arguments": {}}}], "messages[1].tool_calls[0].function.name"),
        ([{"function": {"name": "f", "arguments": '{"a": 1}'}}], "messages[1].tool_calls[0].function.arguments"),
        ([{"function": {"name": "f", "arguments": [1]}}], "messages[1].tool_calls[0].function.arguments"),
        ([{"id": 5, "function": {"name": "f"}}], "messages[1].tool_calls[0].id"),
    ],
)
def test_bad_tool_calls(calls: Any, param: str) -> None:
    raw = body_of(messages=[{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": calls}])
    assert bad(raw).param == param


def test_missing_arguments_are_an_empty_object() -> None:
    request = history({"role": "assistant", "tool_calls": [{"function": {"name": "get_weather"}}]})
    assert request.messages[1].content == (ToolCall(id="call_1_0", name="get_weather", arguments="{}"),)
