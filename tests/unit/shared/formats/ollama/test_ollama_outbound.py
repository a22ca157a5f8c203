"""Ollama outbound: the upstream body, passthrough, reading answers, error classification."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import (
    ChatRequest,
    Image,
    Message,
    ReasoningConfig,
    ResponseFormat,
    Text,
    Thinking,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from shared.canonical.errors import BadRequest, UpstreamError
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.base import BuildOptions
from shared.formats.ollama.outbound import build_request, parse_result, passthrough_request
from shared.formats.ollama.wire import synthetic_call_id

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
HI = (Message("user", (Text("hi"),)),)
OPTIONS = BuildOptions(model="llama3.2:3b")


def built(request: ChatRequest, options: BuildOptions = OPTIONS) -> dict[str, Any]:
    call = build_request(request, options)
    assert call.path == "/api/chat"
    assert call.stream is request.stream
    body: dict[str, Any] = jsonx.loads(call.body)
    return body


def request_of(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="alias", messages=messages or HI, **fields)


# --- build_request -----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_stream_is_always_sent(stream: bool) -> None:
    # Ollama streams when `stream` is absent, so a JSON answer must ask for it explicitly
    body = built(request_of(stream=stream))
    assert body == {"model": "llama3.2:3b", "messages": [{"role": "user", "content": "hi"}], "stream": stream}


def test_messages() -> None:
    request = request_of(
        Message("system", (Text("Be brief."),)),
        Message("developer", (Text("Use metric."),)),
        Message("user", (Text("Describe "), Text("these."), Image(data=PNG, media_type="image/png"))),
        Message(
            "assistant",
            (
                Thinking(text="Use the tool.", signature="sig", redacted=None),
                Thinking(text="", redacted="opaque"),
                Text("Checking."),
                ToolCall(id="toolu_1", name="get_weather", arguments='{"city": "Paris"}'),
                ToolCall(id="", name="get_time", arguments="{broken"),
            ),
        ),
        Message(
            "tool",
            (
                ToolResult(tool_call_id="toolu_1", content=(Text("18C"), Image(data=PNG, media_type="image/png"))),
                ToolResult(tool_call_id="unknown", content=(Text("?"),), name="named"),
            ),
        ),
    )
    assert built(request)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Use metric."},
        {"role": "user", "content": "Describe these.", "images": [PNG]},
        {
            "role": "assistant",
            "content": "Checking.",
            "thinking": "Use the tool.",
            "tool_calls": [
                {"id": "toolu_1", "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"index": 1, "name": "get_time", "arguments": {"_raw": "{broken"}}},
            ],
        },
        {"role": "tool", "content": "18C", "images": [PNG], "tool_name": "get_weather", "tool_call_id": "toolu_1"},
        {"role": "tool", "content": "?", "tool_name": "named", "tool_call_id": "unknown"},
    ]


def test_thinking_goes_back_whatever_echo_reasoning_says() -> None:
    request = request_of(Message("user", (Text("q"),)), Message("assistant", (Thinking(text="t"), Text("a"))))
    for echo in (True, False):
        body = built(request, BuildOptions(model="m", echo_reasoning=echo))
        assert body["messages"][1] == {"role": "assistant", "content": "a", "thinking": "t"}


@pytest.mark.parametrize(
    "message",
    [
        Message("user", (Text("What is this?"), Image(url="https://example.com/cat.png"))),
        Message("tool", (ToolResult(tool_call_id="c", content=(Image(url="https://example.com/cat.png"),)),)),
    ],
)
def test_image_urls_are_a_400(message: Message) -> None:
    with pytest.raises(BadRequest, match="image URLs are not supported by ollama; send the image as base64") as info:
        build_request(request_of(message), OPTIONS)
    assert info.value.param == "messages"


TOOL = ToolSpec(
    name="get_weather", description="Weather.", parameters={"type": "object", "properties": {}}, strict=True
)


@pytest.mark.parametrize("choice", [None, ToolChoice("auto")])
def test_tools(choice: ToolChoice | None) -> None:
    body = built(request_of(tools=(TOOL, ToolSpec(name="bare")), tool_choice=choice, parallel_tool_calls=False))
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather.",
                "parameters": {"type": "object", "properties": {}},
            },
        },
        {"type": "function", "function": {"name": "bare", "parameters": {"type": "object", "properties": {}}}},
    ]


def test_tool_choice_none_offers_no_tools() -> None:
    assert "tools" not in built(request_of(tools=(TOOL,), tool_choice=ToolChoice("none")))


@pytest.mark.parametrize("choice", [ToolChoice("required"), ToolChoice("tool", "get_weather")])
def test_forced_tool_calls_are_a_400(choice: ToolChoice) -> None:
    with pytest.raises(BadRequest, match="not supported by ollama") as info:
        build_request(request_of(tools=(TOOL,), tool_choice=choice), OPTIONS)
    assert info.value.param == "tool_choice"


def test_sampling_options() -> None:
    request = request_of(
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.3,
        max_tokens=64,
        stop=("END", "\n\n"),
        user="u1",
        service_tier="flex",
        metadata={"a": 1},
    )
    body = built(request)
    assert body["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "seed": 7,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
        "num_predict": 64,
        "stop": ["END", "\n\n"],
    }
    assert set(body) == {"model", "messages", "options", "stream"}


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (ResponseFormat("json_object"), "json"),
        (ResponseFormat("json_schema", schema={"type": "object"}, name="x", strict=True), {"type": "object"}),
        (ResponseFormat("json_schema"), "json"),
        (ResponseFormat("text"), None),
    ],
)
def test_format(fmt: ResponseFormat, expected: Any) -> None:
    assert built(request_of(response_format=fmt)).get("format") == expected


@pytest.mark.parametrize(
    ("reasoning", "think"),
    [
        (ReasoningConfig(enabled=False), False),
        (ReasoningConfig(effort="none", enabled=False), False),
        (ReasoningConfig(effort="minimal"), "low"),
        (ReasoningConfig(effort="medium", enabled=True), "medium"),
        (ReasoningConfig(effort="xhigh"), "high"),
        (ReasoningConfig(effort="unheard-of"), "medium"),
        (ReasoningConfig(budget_tokens=1024, enabled=True), "low"),
        (ReasoningConfig(budget_tokens=8000, enabled=True), "medium"),
        (ReasoningConfig(budget_tokens=32000, enabled=True), "high"),
        (ReasoningConfig(budget_tokens=0), False),
        (ReasoningConfig(enabled=True), True),
        (ReasoningConfig(include_thoughts=True), True),
        (ReasoningConfig(), None),
    ],
)
def test_think(reasoning: ReasoningConfig, think: Any) -> None:
    assert built(request_of(reasoning=reasoning)).get("think") == think


# --- passthrough -------------------------------------------------------------------------------


def test_passthrough_keeps_everything_but_the_model() -> None:
    body = {
        "model": "alias",
        "messages": [{"role": "user", "content": "hi", "x_note": 1}],
        "options": {"num_ctx": 8192, "repeat_penalty": 1.1, "x_vendor": [1, {"deep": None}]},
        "keep_alive": "5m",
        "template": "{{ .Prompt }}",
    }
    call = passthrough_request(body, request_of(stream=True), OPTIONS)
    sent = jsonx.loads(call.body)
    assert sent["model"] == "llama3.2:3b"
    assert {k: v for k, v in sent.items() if k != "model"} == {k: v for k, v in body.items() if k != "model"}
    assert "stream" not in sent  # absent still means a stream to Ollama
    assert (call.path, call.stream) == ("/api/chat", True)
    assert body["model"] == "alias"  # the client's body is not mutated


def test_passthrough_json() -> None:
    call = passthrough_request({"model": "a", "messages": [], "stream": False}, request_of(stream=False), OPTIONS)
    assert call.stream is False
    assert jsonx.loads(call.body)["stream"] is False


# --- parse_result ------------------------------------------------------------------------------


def answer(message: dict[str, Any], **fields: Any) -> bytes:
    body = {
        "model": "qwen3",
        "created_at": "2025-08-08T21:34:10.998877Z",
        "message": message,
        "done_reason": "stop",
        "done": True,
        "prompt_eval_count": 20,
        "eval_count": 60,
    }
    body.update(fields)
    return jsonx.dumps({k: v for k, v in body.items() if v is not ...})


def test_parse_text_and_thinking() -> None:
    result = parse_result(answer({"role": "assistant", "content": "Hi!", "thinking": "Greet."}))
    assert result == ChatResult(
        id="",
        model="qwen3",
        created=1_754_688_850,
        content=(Thinking(text="Greet."), Text("Hi!")),
        stop_reason="end",
        usage=Usage(input_tokens=20, output_tokens=60, reported=True),
    )


def test_tool_calls_keep_their_ids_or_get_deterministic_ones() -> None:
    calls = [
        {"id": "call_k3v9", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
        {"function": {"index": 1, "name": "get_weather", "arguments": {"city": "Tokyo"}}},
        {"function": {"index": 2, "name": "noop"}},
    ]
    result = parse_result(answer({"role": "assistant", "content": "", "tool_calls": calls}))
    assert result.tool_calls == (
        ToolCall(id="call_k3v9", name="get_weather", arguments='{"city":"Paris"}'),
        ToolCall(
            id=synthetic_call_id("qwen3", 1, "get_weather", '{"city":"Tokyo"}'),
            name="get_weather",
            arguments='{"city":"Tokyo"}',
        ),
        ToolCall(id=synthetic_call_id("qwen3", 2, "noop", "{}"), name="noop", arguments="{}"),
    )
    assert result.stop_reason == "tool_use"  # Ollama says "stop" after tool calls
    again = parse_result(answer({"role": "assistant", "content": "", "tool_calls": calls}))
    assert again.tool_calls == result.tool_calls
    assert synthetic_call_id("qwen3", 1, "get_weather", '{"city":"Rome"}') != result.tool_calls[1].id


@pytest.mark.parametrize(
    ("reason", "stop"),
    [("stop", "end"), ("length", "max_tokens"), ("load", "end"), ("unload", "end"), (..., "end"), ("odd", "end")],
)
def test_done_reasons(reason: Any, stop: str) -> None:
    assert parse_result(answer({"role": "assistant", "content": "x"}, done_reason=reason)).stop_reason == stop


def test_length_wins_over_tool_calls() -> None:
    message = {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]}
    assert parse_result(answer(message, done_reason="length")).stop_reason == "max_tokens"


def test_usage_absent_is_not_reported() -> None:
    # a model load answers with no counts; Go leaves zero counts out
    result = parse_result(answer({"role": "assistant", "content": ""}, prompt_eval_count=..., eval_count=...))
    assert result.usage == Usage()
    result = parse_result(answer({"role": "assistant", "content": "x"}, prompt_eval_count=...))
    assert result.usage == Usage(input_tokens=0, output_tokens=60, reported=True)


@pytest.mark.parametrize(
    ("created_at", "created"),
    [
        ("2023-08-04T08:52:19.385406455-07:00", 1_691_164_339),
        ("2024-07-22T20:33:28Z", 1_721_680_408),
        ("2024-07-22T20:33:28", 1_721_680_408),
        ("yesterday", 0),
        (12, 0),
        (..., 0),
    ],
)
def test_created_at(created_at: Any, created: int) -> None:
    assert parse_result(answer({"role": "assistant", "content": "x"}, created_at=created_at)).created == created


def test_missing_message_is_an_empty_answer() -> None:
    result = parse_result(jsonx.dumps({"model": "m", "done": True, "done_reason": "load"}))
    assert (result.content, result.stop_reason) == ((), "end")


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'"x"', b'{"model": "m", "message": "hi"}'])
def test_not_an_answer(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as info:
        parse_result(raw)
    assert info.value.code == "upstream_bad_response"


def test_an_error_body_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="model runner has unexpectedly stopped"):
        parse_result(jsonx.dumps({"error": "model runner has unexpectedly stopped"}))
