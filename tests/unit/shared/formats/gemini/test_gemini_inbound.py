"""Gemini inbound: request validation (every 400 names its field), what the canonical request keeps
or marks unsupported, ids and signatures in history, and the error and answer body shapes."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, Message, ReasoningConfig, Text, Thinking, ToolCall, ToolResult
from shared.canonical.errors import BadRequest
from shared.formats.base import RequestContext
from shared.formats.gemini.inbound import parse_request

CONTEXT = RequestContext(path_model="gemini-2.5-flash", path_stream=False)
USER = {"role": "user", "parts": [{"text": "hi"}]}


def body(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"contents": [USER]}
    out.update(fields)
    return {k: v for k, v in out.items() if v is not ...}


def parse(raw: dict[str, Any] | bytes, context: RequestContext = CONTEXT) -> ChatRequest:
    data = raw if isinstance(raw, bytes) else jsonx.dumps(raw)
    return parse_request(data, context).request


def bad(raw: dict[str, Any] | bytes, context: RequestContext = CONTEXT) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse(raw, context)
    error = info.value
    assert error.status == 400
    assert error.retryable is False
    return error


# --- the request, the URL, the body ---------------------------------------------------------


def test_minimal_request() -> None:
    request = parse(body())
    assert request.model == "gemini-2.5-flash"
    assert request.stream is False
    assert request.dialect == "gemini"
    assert request.messages == (Message("user", (Text("hi"),)),)
    assert request.unsupported == ()


@pytest.mark.parametrize(("model", "stream"), [("gemini-2.0-flash", True), ("models/gemini-2.0-flash", False)])
def test_model_and_stream_come_from_the_path(model: str, stream: bool) -> None:
    request = parse(body(), RequestContext(path_model=model, path_stream=stream))
    assert request.model == "gemini-2.0-flash"
    assert request.stream is stream


@pytest.mark.parametrize("model", [None, "", "  ", "models/"])
def test_model_is_required_in_the_path(model: str | None) -> None:
    error = bad(body(), RequestContext(path_model=model))
    assert error.param == "model"
    assert error.code == "missing_required_parameter"


def test_the_decoded_body_is_kept_for_passthrough() -> None:
    raw = body(safetySettings=[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}], x_vendor=[1])
    assert parse_request(jsonx.dumps(raw), CONTEXT).body == raw


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'"x"'])
def test_body_must_be_a_json_object(raw: bytes) -> None:
    assert bad(raw).code == "invalid_json"


# --- contents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"contents": ...}, "contents"),
        ({"contents": []}, "contents"),
        ({"contents": "hi"}, "contents"),
        ({"contents": ["hi"]}, "contents[0]"),
        ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "contents[0].role"),
        ({"contents": [{"role": 1, "parts": [{"text": "x"}]}]}, "contents[0].role"),
        ({"contents": [{"role": "user"}]}, "contents[0].parts"),
        ({"contents": [{"role": "user", "parts": []}]}, "contents[0].parts"),
        ({"contents": [USER, {"role": "user", "parts": ["x"]}]}, "contents[1].parts[0]"),
        ({"contents": [{"parts": [{}]}]}, "contents[0].parts[0]"),
        ({"contents": [{"parts": [{"text": 5}]}]}, "contents[0].parts[0].text"),
        (
            {"contents": [{"parts": [{"text": "a", "inlineData": {"mimeType": "image/png", "data": "x"}}]}]},
            "contents[0].parts[0]",
        ),
        ({"contents": [{"parts": [{"text": "a", "thought": "yes"}]}]}, "contents[0].parts[0].thought"),
        ({"contents": [{"parts": [{"text": "a", "thoughtSignature": 1}]}]}, "contents[0].parts[0]"),
        ({"contents": [{"parts": [{"inlineData": "x"}]}]}, "contents[0].parts[0].inlineData"),
        ({"contents": [{"parts": [{"inlineData": {"data": "x"}}]}]}, "contents[0].parts[0].inlineData.mimeType"),
        (
            {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png"}}]}]},
            "contents[0].parts[0].inlineData.data",
        ),
        ({"contents": [{"parts": [{"fileData": {"mimeType": "image/png"}}]}]}, "contents[0].parts[0].fileData.fileUri"),
        ({"contents": [{"parts": [{"functionCall": {"name": "f"}}]}]}, "contents[0].parts[0]"),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": {"args": {}}}]}]},
            "contents[0].parts[0].functionCall.name",
        ),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": "{}"}}]}]},
            "contents[0].parts[0].functionCall.args",
        ),
        ({"contents": [{"role": "model", "parts": [{"functionCall": "f"}]}]}, "contents[0].parts[0].functionCall"),
        ({"contents": [{"role": "model", "parts": [{"functionResponse": {"name": "f"}}]}]}, "contents[0].parts[0]"),
        (
            {"contents": [{"parts": [{"functionResponse": {"response": {}}}]}]},
            "contents[0].parts[0].functionResponse.name",
        ),
        (
            {"contents": [{"parts": [{"functionResponse": {"name": "f", "response": "ok"}}]}]},
            "contents[0].parts[0].functionResponse.response",
        ),
        (
            {"contents": [{"parts": [{"functionResponse": {"name": "f", "id": 3}}]}]},
            "contents[0].parts[0].functionResponse.id",
        ),
        (
            {"contents": [{"parts": [{"functionResponse": {"name": "f", "parts": [{"text": "x"}]}}]}]},
            "contents[0].parts[0].functionResponse.parts[0]",
        ),
    ],
)
def test_bad_contents_name_the_field(fields: dict[str, Any], param: str) -> None:
    assert bad(body(**fields)).param == param


def test_error_messages_do_not_echo_the_prompt() -> None:
    error = bad(body(contents=[{"role": "system", "parts": [{"text": "fake-secret-in-prompt"}]}]))
    assert "fake-secret-in-prompt" not in error.message


def test_snake_case_spellings_are_read() -> None:
    raw = {
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"inline_data": {"mime_type": "image/jpeg", "data": "AAAA"}}]}],
        "generation_config": {"max_output_tokens": 7, "thinking_config": {"thinking_budget": 0}},
        "tool_config": {"function_calling_config": {"mode": "any", "allowed_function_names": ["f"]}},
        "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {"type": "object"}}]}],
    }
    request = parse(raw)
    assert request.system_text == "Be brief."
    assert request.messages[1] == Message("user", (Image(data="AAAA", media_type="image/jpeg"),))
    assert request.max_tokens == 7
    assert request.reasoning == ReasoningConfig(enabled=False)
    assert request.tool_choice is not None and request.tool_choice.name == "f"
    assert request.tools[0].parameters == {"type": "object"}
    assert request.unsupported == ()


def test_system_instruction_shapes() -> None:
    assert parse(body(systemInstruction="Be brief.")).system_text == "Be brief."
    assert bad(body(systemInstruction=["x"])).param == "systemInstruction"
    assert bad(body(systemInstruction={"parts": "x"})).param == "systemInstruction.parts"
    assert bad(body(systemInstruction={"parts": [{"text": 1}]})).param == "systemInstruction.parts[0].text"


def test_a_user_turn_splits_into_tool_results_and_user_text() -> None:
    raw = body(
        contents=[
            USER,
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]},
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "f", "response": {"output": "done"}}}, {"text": "thanks"}],
            },
        ]
    )
    messages = parse(raw).messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "user"]
    call = messages[1].content[0]
    assert isinstance(call, ToolCall) and call.arguments == '{"a":1}'
    assert call.id.startswith("call_")
    assert messages[2].content == (ToolResult(tool_call_id=call.id, content=(Text("done"),), name="f"),)


def test_responses_without_ids_answer_calls_by_name_then_order() -> None:
    model = {
        "role": "model",
        "parts": [
            {"functionCall": {"name": "weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "time", "args": {"city": "Paris"}}},
        ],
    }
    answers = {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "time", "response": {"output": "9:00"}}},
            {"functionResponse": {"name": "weather", "response": {"output": "18C"}}},
        ],
    }
    messages = parse(body(contents=[USER, model, answers])).messages
    calls = {p.name: p.id for p in messages[1].content if isinstance(p, ToolCall)}
    results = {p.name: p.tool_call_id for p in messages[2].content if isinstance(p, ToolResult)}
    assert results == calls
    assert len(set(calls.values())) == 2


def test_ids_are_used_when_present_and_are_stable() -> None:
    model = {"role": "model", "parts": [{"functionCall": {"id": "abc", "name": "f", "args": {}}}]}
    answer = {"role": "user", "parts": [{"functionResponse": {"id": "abc", "name": "f", "response": {}}}]}
    messages = parse(body(contents=[USER, model, answer])).messages
    assert messages[1].content == (ToolCall(id="abc", name="f", arguments="{}"),)
    assert messages[2].content == (ToolResult(tool_call_id="abc", name="f"),)
    unnamed = {"role": "model", "parts": [{"functionCall": {"name": "f"}}]}
    first = parse(body(contents=[USER, unnamed])).messages[1].content[0]
    again = parse(body(contents=[USER, unnamed, USER])).messages[1].content[0]
    assert isinstance(first, ToolCall) and first == again


@pytest.mark.parametrize(
    ("response", "content", "is_error"),
    [
        ({"output": "ok"}, (Text("ok"),), False),
        ({"output": {"t": 18}}, (Text('{"t":18}'),), False),
        ({"error": "boom"}, (Text("boom"),), True),
        ({"result": "ok"}, (Text('{"result":"ok"}'),), False),
        ({}, (), False),
        (None, (), False),
    ],
)
def test_function_response_content(response: Any, content: tuple[Any, ...], is_error: bool) -> None:
    part: dict[str, Any] = {"functionResponse": {"name": "f", "response": response}}
    result = parse(body(contents=[{"role": "user", "parts": [part]}])).messages[0].content[0]
    assert isinstance(result, ToolResult)
    assert (result.content, result.is_error) == (content, is_error)


def test_function_response_images() -> None:
    image = {"inlineData": {"mimeType": "image/png", "data": "QUJD"}}
    part = {"functionResponse": {"name": "f", "response": {"output": "see"}, "parts": [image]}}
    result = parse(body(contents=[{"role": "user", "parts": [part]}])).messages[0].content[0]
    assert isinstance(result, ToolResult)
    assert result.content == (Text("see"), Image(data="QUJD", media_type="image/png"))


def test_signatures_in_a_model_turn() -> None:
    model = {
        "role": "model",
        "parts": [
            {"text": "plan", "thought": True, "thoughtSignature": "s1"},
            {"text": "Calling."},
            {"text": "", "thoughtSignature": "s2"},
            {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "s3"},
            {"functionCall": {"name": "g", "args": {}}},
        ],
    }
    content = parse(body(contents=[USER, model])).messages[1].content
    assert content[:3] == (Thinking("plan", "s1"), Text("Calling."), Thinking("", "s2"))
    calls = [p for p in content if isinstance(p, ToolCall)]
    assert [(c.name, c.signature) for c in calls] == [("f", "s3"), ("g", None)]


def test_file_data_is_an_image_url() -> None:
    part = {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}}
    message = parse(body(contents=[{"parts": [part]}])).messages[0]
    assert message.content == (Image(url="https://example.com/cat.png"),)


@pytest.mark.parametrize(
    ("part", "unsupported"),
    [
        ({"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}}, "inline 'application/pdf' parts"),
        ({"fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"}}, "'video/mp4' file parts"),
        ({"executableCode": {"language": "PYTHON", "code": "1"}}, "'executableCode' parts"),
        ({"text": "x", "videoMetadata": {"fps": 1}}, "'videoMetadata' parts"),
    ],
)
def test_media_the_canonical_model_cannot_carry_is_unsupported(part: dict[str, Any], unsupported: str) -> None:
    assert unsupported in parse(body(contents=[{"parts": [part]}])).unsupported


def test_media_in_a_model_turn_is_unsupported() -> None:
    model = {"role": "model", "parts": [{"inlineData": {"mimeType": "image/png", "data": "QUJD"}}]}
    assert "media parts in model turns" in parse(body(contents=[USER, model])).unsupported
