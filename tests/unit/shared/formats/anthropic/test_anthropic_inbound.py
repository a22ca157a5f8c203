"""Anthropic client side: request parsing (every bad input is a 400 naming the field), answers, errors, counts."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import Image, Message, ReasoningConfig, ResponseFormat, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    GatewayError,
    InternalError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    Unprocessable,
    UpstreamError,
    UpstreamTimeout,
)
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.anthropic.inbound import (
    parse_count_request,
    parse_request,
    render_count,
    render_error,
    render_result,
)
from shared.formats.base import RequestContext

USER = {"role": "user", "content": "Hi"}


def parse(body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return parse_request(jsonx.dumps(body), RequestContext(headers=headers or {})).request


def base(**extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": [USER], **extra}


BAD = [
    ({"max_tokens": 5, "messages": [USER]}, "model"),
    ({"model": " ", "max_tokens": 5, "messages": [USER]}, "model"),
    ({"model": "m", "messages": [USER]}, "max_tokens"),
    (base(max_tokens="5"), "max_tokens"),
    (base(max_tokens=-1), "max_tokens"),
    ({"model": "m", "max_tokens": 5}, "messages"),
    (base(messages=[]), "messages"),
    (base(messages="hi"), "messages"),
    (base(messages=["hi"]), "messages[0]"),
    (base(messages=[{"role": "tool", "content": "x"}]), "messages[0].role"),
    (base(messages=[{"role": "user"}]), "messages[0].content"),
    (base(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
    (base(messages=[{"role": "user", "content": [{"text": "x"}]}]), "messages[0].content[0].type"),
    (base(messages=[{"role": "user", "content": ["x"]}]), "messages[0].content[0]"),
    (base(messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}]), "messages[0].content[0].text"),
    (base(messages=[{"role": "user", "content": [{"type": "image"}]}]), "messages[0].content[0].source"),
    (
        base(messages=[{"role": "user", "content": [{"type": "image", "source": {"data": "x"}}]}]),
        "messages[0].content[0].source.type",
    ),
    (
        base(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "x"}}]}]),
        "messages[0].content[0].source.media_type",
    ),
    (
        base(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "url"}}]}]),
        "messages[0].content[0].source.url",
    ),
    (base(messages=[{"role": "user", "content": [{"type": "tool_result"}]}]), "messages[0].content[0].tool_use_id"),
    (
        base(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}]}]),
        "messages[0].content[0].is_error",
    ),
    (
        base(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 5}]}]),
        "messages[0].content[0].content",
    ),
    (
        base(messages=[{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}]),
        "messages[0].content[0].id",
    ),
    (
        base(messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "input": {}}]}]),
        "messages[0].content[0].name",
    ),
    (
        base(messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}]}]),
        "messages[0].content[0].input",
    ),
    (
        base(messages=[{"role": "assistant", "content": [{"type": "thinking", "signature": "s"}]}]),
        "messages[0].content[0].thinking",
    ),
    (
        base(messages=[{"role": "assistant", "content": [{"type": "redacted_thinking"}]}]),
        "messages[0].content[0].data",
    ),
    (base(system=5), "system"),
    (base(system=[{"type": "image"}]), "system[0].type"),
    (base(tools={}), "tools"),
    (base(tools=["x"]), "tools[0]"),
    (base(tools=[{"input_schema": {}}]), "tools[0].name"),
    (base(tools=[{"name": "f"}]), "tools[0].input_schema"),
    (base(tools=[{"name": "f", "input_schema": {}, "description": 5}]), "tools[0]"),
    (base(tools=[{"name": "f", "input_schema": {}, "strict": "yes"}]), "tools[0].strict"),
    (base(tool_choice="auto"), "tool_choice"),
    (base(tool_choice={"type": "required"}), "tool_choice.type"),
    (base(tool_choice={"type": "tool"}), "tool_choice.name"),
    (base(tool_choice={"type": "any", "disable_parallel_tool_use": 1}), "tool_choice.disable_parallel_tool_use"),
    (base(thinking=True), "thinking"),
    (base(thinking={"type": "enabled"}), "thinking.budget_tokens"),
    (base(thinking={"type": "enabled", "budget_tokens": "many"}), "thinking.budget_tokens"),
    (base(thinking={"type": "on"}), "thinking.type"),
    (base(thinking={"type": "adaptive", "display": "full"}), "thinking.display"),
    (base(output_config=[]), "output_config"),
    (base(output_config={"effort": "huge"}), "output_config.effort"),
    (base(output_config={"format": {"type": "json_object"}}), "output_config.format"),
    (base(output_config={"format": {"type": "json_schema"}}), "output_config.format.schema"),
    (base(output_format={"type": "json_schema", "schema": []}), "output_format.schema"),
    (base(temperature=1.5), "temperature"),
    (base(top_p="x"), "top_p"),
    (base(top_k=1.5), "top_k"),
    (base(stop_sequences="END"), "stop_sequences"),
    (base(stop_sequences=[1]), "stop_sequences"),
    (base(metadata="u"), "metadata"),
    (base(metadata={"user_id": 5}), "metadata.user_id"),
    (base(stream="yes"), "stream"),
    (base(service_tier=1), "service_tier"),
]


@pytest.mark.parametrize(("body", "param"), BAD, ids=[param for _, param in BAD])
def test_bad_input_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(body)
    assert caught.value.status == 400
    assert caught.value.param == param
    assert param.split(".")[0].split("[")[0] in caught.value.message


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_a_400(raw: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_request(raw, RequestContext())
    assert caught.value.code == "invalid_json"


def test_a_missing_max_tokens_is_a_missing_parameter() -> None:
    with pytest.raises(BadRequest) as caught:
        parse({"model": "m", "messages": [USER]})
    assert caught.value.code == "missing_required_parameter"


def test_a_plain_request() -> None:
    request = parse(base(stream=True, temperature=0.5, top_p=0.9, top_k=40, stop_sequences=["END"]))
    assert request.model == "claude-sonnet-4-5"
    assert request.max_tokens == 256
    assert request.messages == (Message("user", (Text("Hi"),)),)
    assert (request.stream, request.temperature, request.top_p, request.top_k) == (True, 0.5, 0.9, 40)
    assert request.stop == ("END",)
    assert request.dialect == "anthropic"
    assert request.unsupported == ()


def test_system_string_blocks_and_system_role_messages_become_system_messages() -> None:
    request = parse(
        base(
            system=[
                {"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be kind."},
            ],
            messages=[{"role": "system", "content": "Late rule."}, USER],
        )
    )
    assert request.messages[0] == Message("system", (Text("Be terse."), Text("Be kind.")))
    assert request.messages[1] == Message("system", (Text("Late rule."),))
    assert request.system_text == "Be terse.\n\nBe kind.\n\nLate rule."
    assert request.unsupported == ()  # cache_control is a hint, not content


def test_a_user_turn_with_tool_results_splits_into_a_tool_message_and_a_user_message() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    turn = {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "t2", "is_error": True, "content": [{"type": "text", "text": "x"}]},
            {"type": "tool_result", "tool_use_id": "t3", "content": [image]},
            {"type": "tool_result", "tool_use_id": "t4"},
            {"type": "text", "text": "Thanks."},
        ],
    }
    request = parse(base(messages=[turn]))
    assert request.messages == (
        Message(
            "tool",
            (
                ToolResult("t1", (Text("18C"),)),
                ToolResult("t2", (Text("x"),), is_error=True),
                ToolResult("t3", (Image(data="AAAA", media_type="image/png"),)),
                ToolResult("t4", ()),
            ),
        ),
        Message("user", (Text("Thanks."),)),
    )


def test_assistant_blocks_keep_their_order_signatures_and_arguments() -> None:
    turn = {
        "role": "assistant",
        "content": [
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "thinking", "thinking": "Plan.", "signature": "sig-1"},
            {"type": "text", "text": "Calling."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris", "n": 2}},
            {"type": "tool_use", "id": "toolu_2", "name": "noop", "input": {}},
        ],
    }
    request = parse(base(messages=[USER, turn]))
    assert request.messages[1] == Message(
        "assistant",
        (
            Thinking(redacted="opaque"),
            Thinking(text="Plan.", signature="sig-1"),
            Text("Calling."),
            ToolCall("toolu_1", "get_weather", '{"city":"Paris","n":2}'),
            ToolCall("toolu_2", "noop", "{}"),
        ),
    )


def test_images_by_url_and_inline() -> None:
    content = [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}},
    ]
    request = parse(base(messages=[{"role": "user", "content": content}]))
    assert request.messages[0].content == (
        Image(url="https://example.com/a.png"),
        Image(data="/9j/", media_type="image/jpeg"),
    )


def test_what_the_canonical_model_cannot_carry_is_listed_as_unsupported() -> None:
    body = base(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}},
                    {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                    {"type": "text", "text": "x", "citations": [{"type": "char_location"}]},
                    {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "search_result"}]},
                ],
            },
            {"role": "assistant", "content": [{"type": "server_tool_use", "id": "s", "name": "web_search"}]},
        ],
        tools=[
            {"type": "web_search_20250305", "name": "web_search"},
            {"name": "f", "input_schema": {"type": "object"}, "input_examples": [{}], "cache_control": {}},
        ],
        thinking={"type": "between_tools"},
        output_config={"task_budget": 5},
        metadata={"user_id": "u", "tenant": "t"},
        max_tokens=0,
        container="c",
        mcp_servers=[],
        inference_geo="us",
    )
    request = parse(body)
    assert set(request.unsupported) == {
        "'document' content blocks in user messages",
        "'file' image sources",
        "citations on text blocks",
        "'search_result' blocks in tool results",
        "'server_tool_use' content blocks in assistant messages",
        "server tool 'web_search_20250305'",
        "'tools[].input_examples'",
        "thinking type 'between_tools'",
        "'output_config.task_budget'",
        "'metadata.tenant'",
        "'max_tokens' of 0 (cache pre-warming)",
        "'container'",
        "'mcp_servers'",
        "'inference_geo'",
    }
    assert [tool.name for tool in request.tools] == ["f"]
    assert request.user == "u"


def test_unknown_fields_of_a_later_api_version_are_unsupported_not_dropped() -> None:
    assert parse(base(speed="fast", some_future_field={"a": 1})).unsupported == ("'some_future_field'", "'speed'")


@pytest.mark.parametrize(
    ("thinking", "config", "expected"),
    [
        ({"type": "enabled", "budget_tokens": 2048}, None, ReasoningConfig(enabled=True, budget_tokens=2048)),
        ({"type": "disabled"}, None, ReasoningConfig(enabled=False)),
        ({"type": "adaptive"}, {"effort": "high"}, ReasoningConfig(effort="high", enabled=True)),
        ({"type": "adaptive", "display": "omitted"}, None, ReasoningConfig(enabled=True, include_thoughts=False)),
        (
            {"type": "enabled", "budget_tokens": 1024, "display": "summarized"},
            None,
            ReasoningConfig(enabled=True, budget_tokens=1024, include_thoughts=True),
        ),
        (None, {"effort": "low"}, ReasoningConfig(effort="low")),
        (None, None, None),
    ],
)
def test_thinking_and_effort(
    thinking: dict[str, Any] | None, config: dict[str, Any] | None, expected: ReasoningConfig | None
) -> None:
    body = base()
    if thinking is not None:
        body["thinking"] = thinking
    if config is not None:
        body["output_config"] = config
    assert parse(body).reasoning == expected


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, ("auto", None, None)),
        ({"type": "any", "disable_parallel_tool_use": True}, ("required", None, False)),
        ({"type": "tool", "name": "f", "disable_parallel_tool_use": False}, ("tool", "f", True)),
        ({"type": "none"}, ("none", None, None)),
    ],
)
def test_tool_choice_and_parallel_tool_use(choice: dict[str, Any], expected: tuple[Any, ...]) -> None:
    tools = [{"name": "f", "description": "F.", "input_schema": {"type": "object"}, "strict": True}]
    request = parse(base(tools=tools, tool_choice=choice))
    assert request.tool_choice is not None
    assert (request.tool_choice.mode, request.tool_choice.name, request.parallel_tool_calls) == expected
    assert request.tools[0].description == "F."
    assert request.tools[0].strict is True


def test_json_outputs_in_output_config_and_the_older_output_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    now = parse(base(output_config={"format": {"type": "json_schema", "schema": schema}}))
    before = parse(base(output_format={"type": "json_schema", "schema": schema}))
    assert now.response_format == before.response_format == ResponseFormat("json_schema", schema=schema)


def test_metadata_user_id_and_service_tier() -> None:
    request = parse(base(metadata={"user_id": "user-1"}, service_tier="standard_only"))
    assert (request.user, request.service_tier) == ("user-1", "standard_only")


def test_version_and_beta_headers_are_kept_for_the_upstream() -> None:
    headers = {"Anthropic-Version": "2023-06-01", "anthropic-beta": "interleaved-thinking-2025-05-14", "x-other": "no"}
    request = parse(base(), headers)
    assert request.client_headers == (
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "interleaved-thinking-2025-05-14"),
    )


def test_the_client_body_is_kept_for_passthrough() -> None:
    body = base(cache_control={"type": "ephemeral"}, future={"x": 1})
    assert parse_request(jsonx.dumps(body), RequestContext()).body == body


def test_a_count_tokens_request_needs_no_max_tokens() -> None:
    body = {"model": "m", "messages": [USER], "system": "S"}
    request = parse_count_request(jsonx.dumps(body), RequestContext()).request
    assert request.max_tokens is None
    assert request.system_text == "S"
    with pytest.raises(BadRequest):
        parse_count_request(jsonx.dumps({"model": "m"}), RequestContext())


def test_render_count() -> None:
    assert jsonx.loads(render_count(42)) == {"input_tokens": 42}


def test_render_result_is_a_message() -> None:
    result = ChatResult(
        id="msg_1",
        model="claude-x",
        content=(
            Thinking(text="Hmm.", signature="sig"),
            Thinking(redacted="opaque"),
            Thinking(text="unsigned"),
            Text("Hi."),
            ToolCall("toolu_1", "f", '{"a": 1}'),
            ToolCall("toolu_2", "g", "not json"),
        ),
        stop_reason="tool_use",
        usage=Usage(input_tokens=100, output_tokens=20, cached_tokens=60, cache_creation_tokens=10, reported=True),
        created=1731000000,
    )
    body = jsonx.loads(render_result(result, parse(base())))
    assert body == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "thinking", "thinking": "unsigned", "signature": ""},
            {"type": "text", "text": "Hi."},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
            {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {"_raw": "not json"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 30,
            "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 60,
            "output_tokens": 20,
        },
    }


@pytest.mark.parametrize(
    ("reason", "name"),
    [("end", "end_turn"), ("pause", "pause_turn"), ("content_filter", "refusal"), ("error", "end_turn")],
)
def test_stop_reasons_anthropic_lacks_collapse(reason: Any, name: str) -> None:
    result = ChatResult(id="m", model="x", stop_reason=reason)
    assert jsonx.loads(render_result(result, parse(base())))["stop_reason"] == name


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (BadRequest("bad"), "invalid_request_error"),
        (Conflict("c"), "invalid_request_error"),
        (Unprocessable("u"), "invalid_request_error"),
        (AuthenticationError("a"), "authentication_error"),
        (GatewayError("pay", status=402), "billing_error"),
        (PermissionDenied("p"), "permission_error"),
        (NotFound("n"), "not_found_error"),
        (PayloadTooLarge("big"), "request_too_large"),
        (RateLimited("slow"), "rate_limit_error"),
        (InternalError("oops"), "api_error"),
        (UpstreamError("up"), "api_error"),
        (ServiceUnavailable("busy"), "overloaded_error"),
        (UpstreamTimeout("late"), "timeout_error"),
    ],
)
def test_render_error_uses_anthropic_error_types(error: GatewayError, kind: str) -> None:
    assert jsonx.loads(render_error(error)) == {"type": "error", "error": {"type": kind, "message": error.message}}
