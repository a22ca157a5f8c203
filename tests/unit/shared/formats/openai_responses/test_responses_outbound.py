"""OpenAI Responses, provider side: the upstream body, passthrough, reading answers, classifying errors."""

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
from shared.canonical.errors import BadRequest, NotFound, RateLimited, UpstreamError
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.base import BuildOptions
from shared.formats.openai_responses.outbound import build_request, classify_error, parse_result, passthrough_request

FAKE_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"
USER = Message("user", (Text("hi"),))


def built(echo: bool = False, **fields: Any) -> dict[str, Any]:
    fields.setdefault("messages", (USER,))
    request = ChatRequest(model="alias", **fields)
    call = build_request(request, BuildOptions(model="gpt-5", echo_reasoning=echo))
    assert call.path == "/responses"
    assert call.stream is request.stream
    out: dict[str, Any] = jsonx.loads(call.body)
    return out


def test_minimal_body_is_stateless() -> None:
    assert built() == {
        "model": "gpt-5",
        "input": [{"type": "message", "role": "user", "content": "hi"}],
        "store": False,
    }


def test_options_and_sampling() -> None:
    out = built(
        stream=True,
        tools=(ToolSpec(name="f", description="d"), ToolSpec(name="g", strict=True)),
        tool_choice=ToolChoice("tool", "f"),
        parallel_tool_calls=False,
        response_format=ResponseFormat("json_schema", schema={"type": "object"}, name="p", strict=True),
        max_tokens=50,
        temperature=0.3,
        top_p=0.8,
        user="u",
        service_tier="flex",
        prompt_cache_key="pk",
        metadata={"k": "v"},
        seed=7,
        presence_penalty=0.5,
        top_k=40,
    )
    assert out["tools"] == [
        {
            "type": "function",
            "name": "f",
            "description": "d",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        },
        {"type": "function", "name": "g", "parameters": {"type": "object", "properties": {}}, "strict": True},
    ]
    assert out["tool_choice"] == {"type": "function", "name": "f"}
    assert out["parallel_tool_calls"] is False
    assert out["text"] == {"format": {"type": "json_schema", "name": "p", "schema": {"type": "object"}, "strict": True}}
    assert (out["max_output_tokens"], out["temperature"], out["top_p"]) == (50, 0.3, 0.8)
    assert (out["user"], out["service_tier"], out["prompt_cache_key"], out["metadata"]) == (
        "u",
        "flex",
        "pk",
        {"k": "v"},
    )
    assert out["stream"] is True
    assert not {"seed", "presence_penalty", "top_k", "stop", "stream_options"} & set(out)


def test_json_mode_and_unnamed_schema() -> None:
    assert built(response_format=ResponseFormat("json_object"))["text"] == {"format": {"type": "json_object"}}
    fmt = built(response_format=ResponseFormat("json_schema", schema={"type": "object"}))["text"]["format"]
    assert fmt == {"type": "json_schema", "name": "response", "schema": {"type": "object"}}
    assert "text" not in built(response_format=ResponseFormat("text"))


@pytest.mark.parametrize(
    ("reasoning", "expected", "include"),
    [
        (ReasoningConfig(effort="high"), {"effort": "high", "summary": "auto"}, True),
        (ReasoningConfig(budget_tokens=1024, enabled=True), {"effort": "low", "summary": "auto"}, True),
        (ReasoningConfig(enabled=True, include_thoughts=False), {"effort": "medium"}, True),
        (ReasoningConfig(effort="none", enabled=False), {"effort": "none"}, False),
        (ReasoningConfig(include_thoughts=True), {"summary": "auto"}, True),
        (ReasoningConfig(enabled=False), None, False),
    ],
)
def test_reasoning_asks_for_summaries_and_encrypted_content(
    reasoning: ReasoningConfig, expected: dict[str, str] | None, include: bool
) -> None:
    out = built(reasoning=reasoning)
    assert out.get("reasoning") == expected
    assert ("include" in out) is include
    if include:
        assert out["include"] == ["reasoning.encrypted_content"]


def test_stop_sequences_are_refused_not_dropped() -> None:
    with pytest.raises(BadRequest, match="not supported by openai_responses") as info:
        built(stop=("END",))
    assert info.value.param == "stop"


def test_history_items() -> None:
    messages = (
        Message("system", (Text("Be terse."),)),
        Message("developer", (Text("Digits."),)),
        Message(
            "user",
            (Text("Look: "), Image(url="https://x/a.png", detail="low"), Image(data="QUJD", media_type="image/jpeg")),
        ),
        Message("assistant", (Text("Checking "), Text("now."), ToolCall(id="c1", name="f", arguments='{"a":1}'))),
        Message(
            "tool",
            (
                ToolResult(tool_call_id="c1", content=(Text("done"),), is_error=True),
                ToolResult(tool_call_id="c2", content=(Text("see"), Image(url="https://x/b.png"))),
                ToolResult(tool_call_id="c3"),
            ),
        ),
    )
    assert built(messages=messages)["input"] == [
        {"type": "message", "role": "system", "content": "Be terse."},
        {"type": "message", "role": "developer", "content": "Digits."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Look: "},
                {"type": "input_image", "image_url": "https://x/a.png", "detail": "low"},
                {"type": "input_image", "image_url": "data:image/jpeg;base64,QUJD"},
            ],
        },
        {"type": "message", "role": "assistant", "content": "Checking now."},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "see"}, {"type": "input_image", "image_url": "https://x/b.png"}],
        },
        {"type": "function_call_output", "call_id": "c3", "output": ""},
    ]


def test_images_in_assistant_turns_are_refused() -> None:
    with pytest.raises(BadRequest, match="not supported by openai_responses"):
        built(messages=(USER, Message("assistant", (Image(url="https://x/a.png"),))))


THOUGHTS = (Thinking(text="plan", signature="sig-1"), Thinking(redacted="gAAA"), ToolCall(id="c", name="f"))


def assistant_items(parts: tuple[Any, ...], echo: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = built(echo, messages=(USER, Message("assistant", parts)))["input"][1:]
    return items


def test_a_summary_and_its_encrypted_content_are_one_reasoning_item() -> None:
    assert assistant_items(THOUGHTS, echo=False) == [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": "gAAA"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
    ]


def test_reasoning_without_encrypted_content_goes_only_to_upstreams_that_want_it() -> None:
    parts = (Thinking(text="another model's thoughts"), Text("Answer"))
    assert assistant_items(parts, echo=False) == [{"type": "message", "role": "assistant", "content": "Answer"}]
    assert assistant_items(parts, echo=True)[0] == {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "another model's thoughts"}],
    }


def test_opaque_before_readable_thinking_keeps_its_order() -> None:
    parts = (Thinking(redacted="E1"), Thinking(text="t"), Text("x"))
    items = assistant_items(parts, echo=True)
    assert [(item["type"], item.get("encrypted_content")) for item in items] == [
        ("reasoning", "E1"),
        ("reasoning", None),
        ("message", None),
    ]


def test_passthrough_keeps_everything_but_the_model() -> None:
    body = {"model": "alias", "input": "hi", "x_vendor": {"a": [1]}, "previous_response_id": "resp_1", "stream": True}
    request = ChatRequest(model="alias", messages=(USER,), stream=True)
    call = passthrough_request(body, request, BuildOptions(model="gpt-5"))
    assert jsonx.loads(call.body) == {**body, "model": "gpt-5"}
    assert body["model"] == "alias"
    assert (call.path, call.stream) == ("/responses", True)


# --- parse_result ----------------------------------------------------------------------------


def response(output: list[Any], **fields: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1.5e9,
        "model": "m",
        "status": "completed",
    }
    body.update(output=output, **fields)
    return jsonx.dumps(body)


MESSAGE = {
    "type": "message",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hi", "annotations": []}],
}
CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}


def test_parse_result_reads_items_in_order_and_skips_built_in_tools() -> None:
    output = [
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        MESSAGE,
        CALL,
    ]
    result = parse_result(response(output))
    assert result == ChatResult(
        id="resp_1",
        model="m",
        created=1_500_000_000,
        content=(Text("Hi"), ToolCall(id="call_1", name="f", arguments="{}")),
        stop_reason="tool_use",
    )


@pytest.mark.parametrize(
    ("status", "details", "output", "stop"),
    [
        ("incomplete", {"reason": "max_output_tokens"}, [CALL], "max_tokens"),
        ("incomplete", {"reason": "content_filter"}, [MESSAGE], "content_filter"),
        ("incomplete", None, [MESSAGE], "max_tokens"),
        ("completed", None, [MESSAGE], "end"),
        ("completed", None, [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}], "refusal"),
    ],
)
def test_stop_reasons(status: str, details: Any, output: list[Any], stop: str) -> None:
    assert parse_result(response(output, status=status, incomplete_details=details)).stop_reason == stop


def test_usage_convention_is_openais() -> None:
    usage = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 80},
        "output_tokens": 50,
        "output_tokens_details": {"reasoning_tokens": 30},
        "total_tokens": 150,
    }
    assert parse_result(response([MESSAGE], usage=usage)).usage == Usage(
        input_tokens=100, output_tokens=50, cached_tokens=80, reasoning_tokens=30, reported=True
    )
    assert parse_result(response([MESSAGE], usage=None)).usage == Usage()


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"id": "resp_1"}', b'{"error": {"message": "x"}}'])
def test_an_answer_that_is_not_a_response(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as info:
        parse_result(raw)
    assert info.value.code == "upstream_bad_response"


def test_a_failed_response_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="The model failed"):
        parse_result(response([], status="failed", error={"code": "server_error", "message": "The model failed."}))


# --- classify_error --------------------------------------------------------------------------


def error_body(message: Any) -> bytes:
    return jsonx.dumps({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}})


@pytest.mark.parametrize(("headers", "expected"), [({"retry-after": "1.2"}, {"Retry-After": "2"}), ({}, {})])
def test_429_is_rate_limited_with_retry_after(headers: dict[str, str], expected: dict[str, str]) -> None:
    error = classify_error(429, headers, error_body("Rate limit reached"))
    assert isinstance(error, RateLimited)
    assert (
        error.status,
        {k: v for k, v in error.headers.items() if k == "Retry-After"},
        error.message,
        error.retryable,
    ) == (429, expected, "Rate limit reached", True)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_never_echo_the_upstream_text(status: int) -> None:
    error = classify_error(status, {}, error_body(f"Incorrect API key provided: {FAKE_KEY}"))
    assert type(error) is UpstreamError
    assert error.code == "upstream_auth_error"
    assert "Incorrect" not in error.message
    assert FAKE_KEY not in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_5xx_are_retryable(status: int) -> None:
    error = classify_error(status, {}, error_body(f"detail {FAKE_KEY}"))
    assert type(error) is UpstreamError
    assert (error.retryable, error.fallback_allowed) == (True, True)
    assert FAKE_KEY not in error.message


def test_400_carries_the_upstream_message_and_404_allows_fallback() -> None:
    error = classify_error(400, {}, error_body("Invalid 'input[0].role'"))
    assert type(error) is BadRequest
    assert error.message == "Invalid 'input[0].role'"
    missing = classify_error(404, {}, error_body("The model `gpt-9` does not exist"))
    assert isinstance(missing, NotFound)
    assert missing.fallback_allowed is True
