"""OpenAI Responses, client side: request validation, input items, unsupported features, result and error bodies."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, Message, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest, GatewayError, RateLimited, UpstreamError
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.base import RequestContext
from shared.formats.openai_responses import DIALECT
from shared.formats.openai_responses.inbound import parse_request, render_error, render_result

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def body(**fields: Any) -> bytes:
    out: dict[str, Any] = {"model": "gpt-4.1-mini", "input": "hi"}
    out.update(fields)
    return jsonx.dumps({k: v for k, v in out.items() if v is not ...})


def parse(raw: bytes) -> ChatRequest:
    return parse_request(raw, RequestContext()).request


def bad(raw: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse_request(raw, RequestContext())
    assert info.value.status == 400
    assert info.value.kind == "invalid_request_error"
    return info.value


def test_string_input_is_one_user_message() -> None:
    request = parse(body())
    assert request.messages == (Message("user", (Text("hi"),)),)
    assert request.dialect == "openai_responses"
    assert request.unsupported == ()
    assert request.stream is False


def test_instructions_come_first_as_a_system_message() -> None:
    request = parse(body(instructions="Be terse.", input=[{"role": "developer", "content": "Digits only."}]))
    assert [m.role for m in request.messages] == ["system", "developer"]
    assert request.system_text == "Be terse.\n\nDigits only."


def test_the_parsed_body_is_the_clients_own() -> None:
    raw = body(x_vendor={"a": [1]}, store=False)
    assert parse_request(raw, RequestContext()).body == jsonx.loads(raw)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'"x"', b"null"])
def test_malformed_or_non_object_body(raw: bytes) -> None:
    assert bad(raw).code == "invalid_json"


@pytest.mark.parametrize("model", [..., None, "", "  ", 3, ["m"]])
def test_model_is_required(model: Any) -> None:
    error = bad(body(model=model))
    assert (error.param, error.code) == ("model", "missing_required_parameter")


def test_input_is_required_without_stored_state() -> None:
    error = bad(body(input=...))
    assert (error.param, error.code) == ("input", "missing_required_parameter")


@pytest.mark.parametrize("state", ["previous_response_id", "conversation", "prompt"])
def test_stored_state_without_input_is_valid_but_unsupported(state: str) -> None:
    request = parse(body(input=..., **{state: "resp_123" if state != "prompt" else {"id": "pmpt_1"}}))
    assert request.messages == ()
    assert any(state in entry for entry in request.unsupported)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": 5}, "input"),
        ({"input": ["hi"]}, "input[0]"),
        ({"input": [{"content": "x"}]}, "input[0].type"),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user"}]}, "input[0].content"),
        ({"input": [{"role": "user", "content": 3}]}, "input[0].content"),
        ({"input": [{"role": "user", "content": [{"text": "x"}]}]}, "input[0].content[0].type"),
        ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text"),
        ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "input[0].content[0].image_url"),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}, "input[0].name"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]}, "input[0].arguments"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
        ({"input": [{"type": "reasoning", "summary": "x"}]}, "input[0].summary"),
        ({"stream": "yes"}, "stream"),
        ({"instructions": 5}, "instructions"),
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"max_output_tokens": "9"}, "max_output_tokens"),
        ({"parallel_tool_calls": "no"}, "parallel_tool_calls"),
        ({"metadata": []}, "metadata"),
        ({"user": 5}, "user"),
        ({"store": "false"}, "store"),
        ({"include": "x"}, "include"),
        ({"stream_options": True}, "stream_options"),
        ({"tools": {}}, "tools"),
        ({"tools": [5]}, "tools[0]"),
        ({"tools": [{"name": "f"}]}, "tools[0].type"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"tools": [{"type": "function", "name": "f", "strict": "yes"}]}, "tools[0].strict"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": {"type": "function"}}, "tool_choice.name"),
        ({"tool_choice": {}}, "tool_choice.type"),
        ({"text": "json"}, "text"),
        ({"text": {"format": "json"}}, "text.format"),
        ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"text": {"format": {"type": "json_schema", "name": "p"}}}, "text.format.schema"),
        ({"reasoning": "high"}, "reasoning"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"reasoning": {"summary": "verbose"}}, "reasoning.summary"),
    ],
)
def test_bad_fields_are_400s_naming_the_field(fields: dict[str, Any], param: str) -> None:
    assert bad(body(**fields)).param == param


def test_error_messages_do_not_echo_the_input() -> None:
    error = bad(body(input=[{"role": "wizard", "content": "fake-secret-in-prompt"}]))
    assert "fake-secret-in-prompt" not in error.message


@pytest.mark.parametrize(
    ("fields", "entry"),
    [
        ({"tools": [{"type": "web_search"}]}, "'web_search' tools"),
        ({"tool_choice": {"type": "file_search"}}, "'file_search' tool_choice"),
        ({"tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}}, "'allowed_tools' tool_choice"),
        ({"previous_response_id": "resp_1"}, "'previous_response_id' (state stored by OpenAI)"),
        ({"conversation": "conv_1"}, "'conversation' (state stored by OpenAI)"),
        ({"background": True}, "'background'"),
        ({"truncation": "auto"}, "'truncation'"),
        ({"top_logprobs": 5}, "'top_logprobs'"),
        ({"include": ["message.output_text.logprobs"]}, "include 'message.output_text.logprobs'"),
        ({"text": {"verbosity": "low"}}, "'text.verbosity'"),
        ({"seed": 7}, "'seed'"),
        ({"stop": ["END"]}, "'stop'"),
        ({"x_vendor": 1}, "'x_vendor'"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "item references (state stored by OpenAI)"),
        ({"input": [{"type": "web_search_call", "id": "ws_1"}]}, "'web_search_call' input items"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "'input_file' content parts",
        ),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}, "images by file_id"),
    ],
)
def test_what_cannot_be_translated_is_recorded_not_dropped(fields: dict[str, Any], entry: str) -> None:
    assert entry in parse(body(**fields)).unsupported


@pytest.mark.parametrize(
    "fields",
    [
        {"store": False},
        {"store": True},
        {"include": ["reasoning.encrypted_content"]},
        {"stream_options": {"include_obfuscation": False}},
        {"truncation": "disabled"},
        {"background": False},
        {"top_logprobs": 0},
        {"text": {"verbosity": "medium"}},
        {"safety_identifier": "u-1"},
        {"max_tool_calls": 3},
    ],
)
def test_harmless_fields_are_not_unsupported(fields: dict[str, Any]) -> None:
    assert parse(body(**fields)).unsupported == ()


def test_an_assistant_turn_gathers_reasoning_message_and_calls() -> None:
    items = [
        {"role": "user", "content": "Weather?"},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "A"}, {"type": "summary_text", "text": "B"}],
            "encrypted_content": "gAAA",
        },
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": ""},
        {"type": "function_call", "call_id": "c2", "name": "w", "arguments": '{"x":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "18C"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "24C"}, {"type": "input_image", "image_url": "https://x/y.png"}],
        },
        {"role": "user", "content": "Thanks"},
    ]
    messages = parse(body(input=items)).messages
    assert messages == (
        Message("user", (Text("Weather?"),)),
        Message(
            "assistant",
            (
                Thinking(text="A\n\nB"),
                Thinking(redacted="gAAA"),
                Text("Checking."),
                ToolCall(id="c1", name="w", arguments="{}"),
                ToolCall(id="c2", name="w", arguments='{"x":1}'),
            ),
        ),
        Message(
            "tool",
            (
                ToolResult(tool_call_id="c1", content=(Text("18C"),)),
                ToolResult(tool_call_id="c2", content=(Text("24C"), Image(url="https://x/y.png"))),
            ),
        ),
        Message("user", (Text("Thanks"),)),
    )


def test_reasoning_text_of_open_weight_models_is_thinking_too() -> None:
    item = {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "step 1"}]}
    assert parse(body(input=[item])).messages == (Message("assistant", (Thinking(text="step 1"),)),)


def test_an_empty_reasoning_item_makes_no_empty_assistant_turn() -> None:
    items = [{"type": "reasoning", "id": "rs_1", "summary": []}, {"role": "user", "content": "hi"}]
    assert parse(body(input=items)).messages == (Message("user", (Text("hi"),)),)


def test_images_by_url_and_inline() -> None:
    content = [
        {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "high"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
    ]
    parts = parse(body(input=[{"role": "user", "content": content}])).messages[0].content
    assert parts == (Image(url="https://example.com/a.png", detail="high"), Image(data=PNG, media_type="image/png"))


def test_tools_options_and_sampling() -> None:
    request = parse(
        body(
            tools=[{"type": "function", "name": "f", "description": "d", "parameters": None, "strict": True}],
            tool_choice={"type": "function", "name": "f"},
            parallel_tool_calls=False,
            text={"format": {"type": "json_schema", "name": "p", "schema": {"type": "object"}, "strict": True}},
            reasoning={"effort": "high", "summary": "detailed"},
            max_output_tokens=100,
            temperature=0.5,
            top_p=0.9,
            user="u",
            metadata={"k": "v"},
            service_tier="flex",
            prompt_cache_key="pk",
            stream=True,
        )
    )
    assert request.tools[0].name == "f"
    assert request.tools[0].parameters == {"type": "object", "properties": {}}
    assert request.tools[0].strict is True
    assert (request.tool_choice.mode, request.tool_choice.name) == ("tool", "f")  # type: ignore[union-attr]
    assert request.parallel_tool_calls is False
    assert request.response_format is not None
    assert (request.response_format.type, request.response_format.name) == ("json_schema", "p")
    assert request.reasoning is not None
    assert (request.reasoning.effort, request.reasoning.include_thoughts) == ("high", True)
    assert (request.max_tokens, request.temperature, request.top_p) == (100, 0.5, 0.9)
    assert (request.user, request.metadata, request.service_tier) == ("u", {"k": "v"}, "flex")
    assert (request.prompt_cache_key, request.stream) == ("pk", True)


def test_a_tool_without_strict_is_unspecified_and_none_effort_disables_reasoning() -> None:
    request = parse(body(tools=[{"type": "function", "name": "f"}], reasoning={"effort": "none"}))
    assert request.tools[0].strict is None
    assert request.reasoning is not None
    assert request.reasoning.enabled is False


# --- render_result / render_error ------------------------------------------------------------

REQUEST = ChatRequest(model="client-model", messages=(Message("user", (Text("hi"),)),))


def rendered(result: ChatResult) -> dict[str, Any]:
    out: dict[str, Any] = jsonx.loads(render_result(result, REQUEST))
    return out


def test_render_result_shape() -> None:
    result = ChatResult(
        id="resp_1",
        model="m",
        created=5,
        content=(
            Thinking(text="why"),
            Thinking(redacted="gAAA"),
            Text("Hi"),
            ToolCall(id="c", name="f", arguments="{}"),
        ),
        stop_reason="tool_use",
        usage=Usage(input_tokens=10, output_tokens=5, cached_tokens=2, reasoning_tokens=3, reported=True),
    )
    out = rendered(result)
    assert (out["id"], out["object"], out["created_at"], out["status"], out["model"]) == (
        "resp_1",
        "response",
        5,
        "completed",
        "m",
    )
    assert out["output"] == [
        {
            "id": "rs_1_0",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "why"}],
            "encrypted_content": "gAAA",
        },
        {
            "id": "msg_1_1",
            "type": "message",
            "status": "completed",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"}],
            "role": "assistant",
        },
        {
            "id": "fc_1_2",
            "type": "function_call",
            "status": "completed",
            "arguments": "{}",
            "call_id": "c",
            "name": "f",
        },
    ]
    assert out["usage"] == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 2},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": 15,
    }
    assert DIALECT.parse_result(render_result(result, REQUEST)) == result


@pytest.mark.parametrize(
    ("stop", "status", "reason"),
    [
        ("max_tokens", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
        ("end", "completed", None),
    ],
)
def test_render_result_status(stop: Any, status: str, reason: str | None) -> None:
    out = rendered(ChatResult(id="r", model="m", content=(Text("x"),), stop_reason=stop))
    assert out["status"] == status
    assert out["incomplete_details"] == ({"reason": reason} if reason else None)


def test_unreported_usage_renders_as_null() -> None:
    assert rendered(ChatResult(id="r", model="m"))["usage"] is None


def test_an_opaque_part_after_other_content_is_its_own_reasoning_item() -> None:
    out = rendered(ChatResult(id="r", model="m", content=(Thinking(redacted="E1"), Thinking(text="t"), Text("x"))))
    assert [item.get("encrypted_content") for item in out["output"]] == ["E1", None, None]


@pytest.mark.parametrize(
    "error",
    [
        BadRequest("bad thing", param="input[0].role"),
        RateLimited("slow down"),
        UpstreamError("upstream broke", code="upstream_auth_error"),
        GatewayError("boom"),
    ],
)
def test_render_error_is_openais_shape(error: GatewayError) -> None:
    out = jsonx.loads(render_error(error))
    assert out == {"error": {"message": error.message, "type": error.kind, "param": error.param, "code": error.code}}
