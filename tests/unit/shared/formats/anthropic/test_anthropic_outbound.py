"""Anthropic provider side: building requests, passthrough, token counting, reading answers, classifying errors."""

from __future__ import annotations

from pathlib import Path
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
from shared.canonical.errors import BadRequest, NotFound, PayloadTooLarge, RateLimited, UpstreamError
from shared.formats.anthropic import DIALECT
from shared.formats.anthropic.outbound import (
    build_request,
    classify_error,
    count_tokens_request,
    parse_count,
    parse_result,
    passthrough_request,
)
from shared.formats.base import BuildOptions, RequestContext
from shared.formats.registry import get_dialect

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures"
OPTIONS = BuildOptions(model="claude-target")
HI = Message("user", (Text("Hi"),))


def request(**fields: Any) -> ChatRequest:
    return ChatRequest(**{"model": "m", "messages": (HI,), **fields})


def body_of(req: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = jsonx.loads(build_request(req, OPTIONS).body)
    return body


def fixture(dialect: str, scenario: str) -> bytes:
    return (FIXTURES / dialect / "requests" / f"{scenario}.json").read_bytes()


def test_a_minimal_request() -> None:
    call = build_request(request(), OPTIONS)
    assert call.path == "/v1/messages"
    assert call.stream is False
    assert call.headers == (("anthropic-version", "2023-06-01"),)
    assert jsonx.loads(call.body) == {
        "model": "claude-target",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_the_clients_version_and_betas_go_upstream() -> None:
    headers = (("Anthropic-Version", "2024-01-01"), ("anthropic-beta", "a-1,b-2"), ("x-other", "no"))
    call = build_request(request(client_headers=headers, stream=True), OPTIONS)
    assert call.headers == (("anthropic-version", "2024-01-01"), ("anthropic-beta", "a-1,b-2"))
    assert call.stream is True
    assert jsonx.loads(call.body)["stream"] is True


def test_sampling_options_and_what_anthropic_has_no_field_for() -> None:
    body = body_of(
        request(
            max_tokens=5,
            temperature=0.7,
            top_p=0.9,
            top_k=40,
            stop=("\n\n", "END"),
            seed=7,
            presence_penalty=0.5,
            frequency_penalty=0.5,
            prompt_cache_key="k",
            user="user-1",
            service_tier="default",
        )
    )
    assert body == {
        "model": "claude-target",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 40,
        "metadata": {"user_id": "user-1"},
        "service_tier": "standard_only",
        "stop_sequences": ["\n\n", "END"],
    }


def test_max_tokens_survives_a_round_trip_both_ways() -> None:
    """The matrix cannot compare max_tokens (Anthropic adds one when absent), so this does."""
    openai = get_dialect("openai_chat")
    from_openai = openai.parse_request(fixture("openai_chat", "sampling"), RequestContext()).request
    assert body_of(from_openai)["max_tokens"] == 5
    from_anthropic = DIALECT.parse_request(fixture("anthropic", "sampling"), RequestContext()).request
    built = jsonx.loads(openai.build_request(from_anthropic, OPTIONS).body)
    assert built["max_tokens"] == 5
    assert built["user"] == "user-7f3a"


def test_a_temperature_above_one_is_refused() -> None:
    with pytest.raises(BadRequest, match="not supported by anthropic") as caught:
        build_request(request(temperature=1.5), OPTIONS)
    assert caught.value.param == "temperature"


def test_json_mode_without_a_schema_is_refused_and_a_schema_is_sent_natively() -> None:
    with pytest.raises(BadRequest, match="not supported by anthropic") as caught:
        build_request(request(response_format=ResponseFormat("json_object")), OPTIONS)
    assert caught.value.param == "response_format"
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = body_of(request(response_format=ResponseFormat("json_schema", schema=schema, name="n", strict=True)))
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "output_config" not in body_of(request(response_format=ResponseFormat("text")))


@pytest.mark.parametrize(
    ("reasoning", "max_tokens", "thinking", "sent_max", "config"),
    [
        (
            ReasoningConfig(enabled=True, budget_tokens=2048),
            None,
            {"type": "enabled", "budget_tokens": 2048},
            4096,
            None,
        ),
        (ReasoningConfig(effort="medium", enabled=True), None, {"type": "enabled", "budget_tokens": 8192}, 12288, None),
        (ReasoningConfig(effort="high", enabled=True), 20000, {"type": "enabled", "budget_tokens": 16384}, 20000, None),
        (ReasoningConfig(effort="high", enabled=True), 2000, {"type": "enabled", "budget_tokens": 1999}, 2000, None),
        (
            ReasoningConfig(enabled=True, budget_tokens=100),
            None,
            {"type": "enabled", "budget_tokens": 1024},
            4096,
            None,
        ),
        (
            ReasoningConfig(enabled=True, budget_tokens=-1),
            None,
            {"type": "enabled", "budget_tokens": 8192},
            12288,
            None,
        ),
        (ReasoningConfig(enabled=True), None, {"type": "enabled", "budget_tokens": 8192}, 12288, None),
        (
            ReasoningConfig(enabled=True, budget_tokens=2048, include_thoughts=False),
            None,
            {"type": "enabled", "budget_tokens": 2048, "display": "omitted"},
            4096,
            None,
        ),
        (ReasoningConfig(enabled=False), None, {"type": "disabled"}, 4096, None),
        (ReasoningConfig(effort="none", enabled=False), None, {"type": "disabled"}, 4096, None),
        (ReasoningConfig(budget_tokens=0), None, {"type": "disabled"}, 4096, None),
        (ReasoningConfig(effort="low"), None, None, 4096, {"effort": "low"}),
        (ReasoningConfig(effort="minimal"), None, None, 4096, {"effort": "low"}),
    ],
)
def test_reasoning(
    reasoning: ReasoningConfig,
    max_tokens: int | None,
    thinking: dict[str, Any] | None,
    sent_max: int,
    config: dict[str, Any] | None,
) -> None:
    body = body_of(request(reasoning=reasoning, max_tokens=max_tokens))
    assert body.get("thinking") == thinking
    assert body["max_tokens"] == sent_max
    assert body.get("output_config") == config


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        (ToolChoice("auto"), True, {"type": "auto", "disable_parallel_tool_use": False}),
        (ToolChoice("required"), None, {"type": "any"}),
        (ToolChoice("tool", "f"), False, {"type": "tool", "name": "f", "disable_parallel_tool_use": True}),
        (ToolChoice("none"), False, {"type": "none"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, None, None),
    ],
)
def test_tool_choice(choice: ToolChoice | None, parallel: bool | None, expected: dict[str, Any] | None) -> None:
    tools = (ToolSpec("f", "F.", {"type": "object", "properties": {}}, strict=True), ToolSpec("g"))
    body = body_of(request(tools=tools, tool_choice=choice, parallel_tool_calls=parallel))
    assert body.get("tool_choice") == expected
    assert body["tools"] == [
        {"name": "f", "description": "F.", "input_schema": {"type": "object", "properties": {}}, "strict": True},
        {"name": "g", "input_schema": {"type": "object", "properties": {}}},
    ]


def test_images() -> None:
    turn = Message("user", (Text("See"), Image(url="https://x/a.png", detail="low"), Image(data="AAAA")))
    assert body_of(request(messages=(turn,)))["messages"][0]["content"] == [
        {"type": "text", "text": "See"},
        {"type": "image", "source": {"type": "url", "url": "https://x/a.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
    ]
    with pytest.raises(BadRequest, match="'image/bmp' are not supported by anthropic"):
        build_request(request(messages=(Message("user", (Image(data="Qk0", media_type="image/bmp"),)),)), OPTIONS)


def test_history_system_tool_results_and_the_user_text_after_them() -> None:
    messages = (
        Message("system", (Text("Rule one."),)),
        Message("developer", (Text("Rule two."),)),
        Message("user", (Text("Weather?"),)),
        Message(
            "assistant",
            (
                Thinking(text="From another provider, unsigned."),
                Text(""),
                ToolCall("c1", "get_weather", '{"city": "Paris"}'),
                ToolCall("c2", "get_weather", "{}", signature="gemini-sig"),
            ),
        ),
        Message(
            "tool",
            (
                ToolResult("c1", (Text("18C"),)),
                ToolResult("c2", (Text("Down: "), Text("retry later")), is_error=True),
            ),
        ),
        Message("tool", (ToolResult("c3", (Image(data="AAAA", media_type="image/jpeg"),)),)),
        Message("user", (Text("Thanks."),)),
        Message("assistant", (Thinking(text="unsigned only"),)),
        Message("user", (Text("Bye."),)),
    )
    body = body_of(request(messages=messages))
    assert body["system"] == "Rule one.\n\nRule two."
    assert body["messages"] == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "c2", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "c2",
                    "content": [{"type": "text", "text": "Down: "}, {"type": "text", "text": "retry later"}],
                    "is_error": True,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "c3",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}}
                    ],
                },
                {"type": "text", "text": "Thanks."},
            ],
        },
        {"role": "user", "content": "Bye."},
    ]


@pytest.mark.parametrize("scenario", ["thinking_history", "redacted_thinking_history", "tool_result_mixed"])
def test_signed_thinking_survives_a_round_trip_exactly(scenario: str) -> None:
    """The matrix leaves thinking history out for Anthropic (see tests/contract/traits/anthropic.py)."""
    parsed = DIALECT.parse_request(fixture("anthropic", scenario), RequestContext()).request
    again = DIALECT.parse_request(build_request(parsed, OPTIONS).body, RequestContext()).request
    assert again.messages == parsed.messages
    assert any(isinstance(p, Thinking) and (p.signature or p.redacted) for m in parsed.messages for p in m.content) or (
        scenario == "tool_result_mixed"
    )


def test_passthrough_keeps_everything_the_client_sent_but_the_model() -> None:
    body = {
        "model": "client-alias",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}]}
        ],
        "container": "c-1",
        "future_field": {"nested": [1, 2]},
    }
    req = DIALECT.parse_request(jsonx.dumps(body), RequestContext(headers={"anthropic-beta": "b-1"})).request
    call = passthrough_request(body, req, OPTIONS)
    assert jsonx.loads(call.body) == {**body, "model": "claude-target"}
    assert body["model"] == "client-alias"  # the client's dict is not mutated
    assert call.path == "/v1/messages"
    assert call.headers == (("anthropic-version", "2023-06-01"), ("anthropic-beta", "b-1"))
    assert call.stream is False


def test_count_tokens_request_and_answer() -> None:
    req = request(
        messages=(Message("system", (Text("S"),)), HI),
        max_tokens=100,
        stream=True,
        temperature=0.5,
        top_k=3,
        user="u",
        stop=("X",),
        tools=(ToolSpec("f"),),
        reasoning=ReasoningConfig(enabled=True, budget_tokens=2048),
    )
    call = count_tokens_request(req, OPTIONS)
    assert call.path == "/v1/messages/count_tokens"
    assert call.stream is False
    assert call.headers == (("anthropic-version", "2023-06-01"),)
    assert jsonx.loads(call.body) == {
        "model": "claude-target",
        "messages": [{"role": "user", "content": "Hi"}],
        "system": "S",
        "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    assert parse_count(b'{"input_tokens": 2095}') == 2095


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"input_tokens": "5"}', b'{"input_tokens": -1}', b'{"x": 1}'])
def test_a_bad_count_is_an_upstream_error(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_count(raw)
    assert caught.value.code == "upstream_bad_response"


@pytest.mark.parametrize("raw", [b"", b"<html>", b"[]", b'{"type": "message"}', b'{"content": "text"}'])
def test_an_answer_that_is_not_a_message_is_an_upstream_error(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_result(raw)
    assert caught.value.code == "upstream_bad_response"


def test_parse_result_skips_server_tool_blocks_and_tolerates_missing_fields() -> None:
    raw = jsonx.dumps(
        {
            "id": "msg_1",
            "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "text", "text": "Found it.", "citations": [{"type": "web_search_result_location"}]},
                "not a block",
            ],
            "stop_reason": "model_context_window_exceeded",
        }
    )
    result = parse_result(raw)
    assert result.content == (Text("Found it."),)
    assert result.stop_reason == "max_tokens"
    assert result.usage.reported is False
    assert parse_result(b'{"content": [], "stop_reason": "something_new"}').stop_reason == "end"


def test_classify_rate_limits_with_retry_after() -> None:
    body = b'{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded"}}'
    error = classify_error(429, {"retry-after": "7"}, body)
    assert isinstance(error, RateLimited)
    assert error.headers == {"Retry-After": "7", "retry-after-ms": "7000"}
    assert error.retryable is True
    assert "exceeded" in error.message


@pytest.mark.parametrize("status", [401, 403])
def test_classify_refused_credentials_never_echoes_upstream_text(status: int) -> None:
    body = b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-ant-secret"}}'
    error = classify_error(status, {}, body)
    assert isinstance(error, UpstreamError)
    assert error.code == "upstream_auth_error"
    assert "sk-ant" not in error.message
    assert "x-api-key" not in error.message


def test_classify_overloaded_is_retryable_with_fallback() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    for status in (529, 503):
        error = classify_error(status, {}, body)
        assert isinstance(error, UpstreamError)
        assert (error.retryable, error.fallback_allowed, error.code) == (True, True, "upstream_overloaded")


@pytest.mark.parametrize("status", [500, 502, 504])
def test_classify_server_errors_are_retryable(status: int) -> None:
    error = classify_error(
        status, {}, b'{"type":"error","error":{"type":"api_error","message":"Internal server error"}}'
    )
    assert isinstance(error, UpstreamError)
    assert error.retryable is True
    assert error.fallback_allowed is True


def test_classify_client_errors_keep_the_upstream_message() -> None:
    body = b'{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}'
    error = classify_error(400, {}, body)
    assert isinstance(error, BadRequest)
    assert error.message == "max_tokens: Field required"
    assert isinstance(classify_error(404, {}, b'{"type":"error","error":{"type":"not_found_error"}}'), NotFound)
    assert isinstance(classify_error(413, {}, b"request too large"), PayloadTooLarge)
    assert isinstance(classify_error(400, {}, b"<html>"), BadRequest)
