"""Gemini outbound: the upstream body and path, passthrough, token counting, usage, error classification."""

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
from shared.canonical.errors import (
    BadRequest,
    UpstreamError,
)
from shared.formats.base import BuildOptions, RequestContext
from shared.formats.gemini.inbound import parse_request
from shared.formats.gemini.outbound import (
    build_request,
    count_tokens_request,
    parse_count,
    passthrough_request,
)

FAKE_KEY = "AIzaSyA-fake-key-0123456789abcdefghijk"
HI = Message("user", (Text("hi"),))


def chat(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="client-model", messages=messages or (HI,), **fields)


def built(request: ChatRequest, model: str = "gemini-2.5-flash", echo: bool = False) -> dict[str, Any]:
    body = jsonx.loads(build_request(request, BuildOptions(model=model, echo_reasoning=echo)).body)
    assert isinstance(body, dict)
    return body


# --- build_request -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "model", "path"),
    [
        (False, "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:generateContent"),
        (True, "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        (False, "models/gemini-2.0-flash", "/v1beta/models/gemini-2.0-flash:generateContent"),
    ],
)
def test_path_names_the_upstream_model_and_method(stream: bool, model: str, path: str) -> None:
    call = build_request(chat(stream=stream), BuildOptions(model=model))
    assert (call.path, call.stream) == (path, stream)
    assert "model" not in jsonx.loads(call.body)


def test_system_messages_become_the_system_instruction() -> None:
    request = chat(Message("system", (Text("A"),)), Message("developer", (Text("B"),)), HI)
    body = built(request)
    assert body["systemInstruction"] == {"parts": [{"text": "A\n\nB"}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_tool_history_has_names_but_no_ids_and_results_share_a_turn() -> None:
    request = chat(
        HI,
        Message(
            "assistant",
            (
                Thinking("plan", "c2lnLXRob3VnaHQ="),
                ToolCall("call_a", "weather", '{"city": "Paris"}', signature="c2lnLWNhbGw="),
                ToolCall("call_b", "time", "{}"),
            ),
        ),
        Message("tool", (ToolResult("call_b", (Text("9:00"),)),)),
        Message("tool", (ToolResult("call_a", (Text("rain"),), is_error=True),)),
        Message("user", (Text("thanks"),)),
    )
    assert built(request)["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {"text": "plan", "thought": True, "thoughtSignature": "c2lnLXRob3VnaHQ="},
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnLWNhbGw="},
                {"functionCall": {"name": "time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "time", "response": {"output": "9:00"}}},
                {"functionResponse": {"name": "weather", "response": {"error": "rain"}}},
                {"text": "thanks"},
            ],
        },
    ]


def test_a_result_without_a_known_call_is_a_400_naming_the_message() -> None:
    request = chat(HI, Message("tool", (ToolResult("call_x", (Text("?"),)),)))
    with pytest.raises(BadRequest) as info:
        built(request)
    assert info.value.param == "messages[1]"
    named = chat(HI, Message("tool", (ToolResult("call_x", (Text("?"),), name="f"),)))
    assert built(named)["contents"][1]["parts"][0]["functionResponse"]["name"] == "f"


def test_a_signature_after_text_goes_back_onto_that_text() -> None:
    request = chat(HI, Message("assistant", (Text("Hello"), Thinking("", "c2ln"), Text(" again"))), HI)
    assert built(request)["contents"][1]["parts"] == [{"text": "Hello", "thoughtSignature": "c2ln"}, {"text": " again"}]
    alone = chat(HI, Message("assistant", (Thinking("", "c2ln"), Text("Hi"))), HI)
    assert built(alone)["contents"][1]["parts"] == [{"text": "", "thoughtSignature": "c2ln"}, {"text": "Hi"}]


@pytest.mark.parametrize(("echo", "sent"), [(False, False), (True, True)])
def test_unsigned_thinking_is_sent_back_only_when_asked(echo: bool, sent: bool) -> None:
    request = chat(HI, Message("assistant", (Thinking("hmm"), Thinking(redacted="blob"), Text("ok"))), HI)
    parts = built(request, echo=echo)["contents"][1]["parts"]
    assert parts == ([{"text": "hmm", "thought": True}] if sent else []) + [{"text": "ok"}]


def test_images() -> None:
    request = chat(
        Message(
            "user",
            (
                Image(data="QUJD", media_type="image/webp"),
                Image(data="QUJD"),
                Image(url="https://example.com/a/cat.JPG?size=2"),
                Image(url="https://generativelanguage.googleapis.com/v1beta/files/abc"),
            ),
        )
    )
    assert built(request)["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/webp", "data": "QUJD"}},
        {"inlineData": {"mimeType": "image/png", "data": "QUJD"}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/a/cat.JPG?size=2"}},
        {"fileData": {"fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
    ]


def test_tool_result_images_are_nested_parts() -> None:
    request = chat(
        HI,
        Message("assistant", (ToolCall("c", "shot"),)),
        Message("tool", (ToolResult("c", (Text("here"), Image(data="QUJD", media_type="image/png"))),)),
    )
    response = built(request)["contents"][2]["parts"][0]["functionResponse"]
    assert response == {
        "name": "shot",
        "response": {"output": "here"},
        "parts": [{"inlineData": {"mimeType": "image/png", "data": "QUJD"}}],
    }


def test_options() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}
    request = chat(
        tools=(ToolSpec("f", "Does f.", schema, strict=True), ToolSpec("g")),
        tool_choice=ToolChoice("tool", "f"),
        response_format=ResponseFormat("json_schema", schema=schema, name="thing", strict=True),
        max_tokens=5,
        temperature=0.5,
        top_p=0.9,
        top_k=3,
        stop=("END",),
        seed=1,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        user="u",
        parallel_tool_calls=False,
    )
    body = built(request)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "f", "description": "Does f.", "parametersJsonSchema": schema},
                {"name": "g", "parametersJsonSchema": {"type": "object", "properties": {}}},
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}
    assert body["generationConfig"] == {
        "maxOutputTokens": 5,
        "temperature": 0.5,
        "topP": 0.9,
        "topK": 3,
        "seed": 1,
        "presencePenalty": 0.1,
        "frequencyPenalty": 0.2,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }


@pytest.mark.parametrize(("mode", "wire"), [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
def test_tool_choice_modes(mode: Any, wire: str) -> None:
    body = built(chat(tools=(ToolSpec("f"),), tool_choice=ToolChoice(mode)))
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": wire}}


def test_json_object_mode() -> None:
    assert built(chat(response_format=ResponseFormat("json_object")))["generationConfig"] == {
        "responseMimeType": "application/json"
    }
    assert "generationConfig" not in built(chat(response_format=ResponseFormat("text")))


@pytest.mark.parametrize(
    ("reasoning", "model", "thinking"),
    [
        (ReasoningConfig(budget_tokens=2048), "gemini-2.5-flash", {"thinkingBudget": 2048, "includeThoughts": True}),
        (ReasoningConfig(effort="low"), "gemini-3-pro-preview", {"thinkingLevel": "low", "includeThoughts": True}),
        (ReasoningConfig(effort="low"), "gemini-2.5-pro", {"thinkingBudget": 1024, "includeThoughts": True}),
        (ReasoningConfig(effort="xhigh"), "gemini-3-flash", {"thinkingLevel": "high", "includeThoughts": True}),
        (ReasoningConfig(enabled=False), "gemini-2.5-flash", {"thinkingBudget": 0}),
        (ReasoningConfig(effort="none"), "gemini-3-flash", {"thinkingLevel": "low"}),
        (ReasoningConfig(enabled=True), "gemini-2.5-flash", {"thinkingBudget": -1, "includeThoughts": True}),
        (ReasoningConfig(include_thoughts=True), "gemini-2.5-flash", {"includeThoughts": True}),
        (
            ReasoningConfig(budget_tokens=64, include_thoughts=False),
            "gemini-2.5-flash",
            {"thinkingBudget": 64, "includeThoughts": False},
        ),
    ],
)
def test_reasoning_becomes_thinking_config(reasoning: ReasoningConfig, model: str, thinking: dict[str, Any]) -> None:
    assert built(chat(reasoning=reasoning), model=model)["generationConfig"]["thinkingConfig"] == thinking


def test_nothing_to_think_about_sends_no_thinking_config() -> None:
    assert "generationConfig" not in built(chat(reasoning=ReasoningConfig()))


# --- passthrough --------------------------------------------------------------------------------


def test_passthrough_keeps_the_body_and_swaps_the_model_in_the_path() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/abc",
        "x_vendor_field": {"nested": [1, 2, {"deep": None}]},
    }
    context = RequestContext(path_model="my-alias", path_stream=True)
    parsed = parse_request(jsonx.dumps(body), context)
    call = passthrough_request(parsed.body, parsed.request, BuildOptions(model="gemini-2.5-pro"))
    assert call.path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    assert call.stream is True
    assert jsonx.loads(call.body) == body
    assert parsed.body == body  # not mutated


# --- counting -----------------------------------------------------------------------------------


def test_count_tokens_with_bare_contents() -> None:
    call = count_tokens_request(chat(), BuildOptions(model="gemini-2.5-flash"))
    assert call.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert call.stream is False
    assert jsonx.loads(call.body) == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_count_tokens_with_a_system_prompt_and_tools_uses_generate_content_request() -> None:
    request = chat(Message("system", (Text("Be brief."),)), HI, tools=(ToolSpec("f"),), max_tokens=1)
    body = jsonx.loads(count_tokens_request(request, BuildOptions(model="gemini-2.5-flash")).body)
    assert list(body) == ["generateContentRequest"]
    inner = body["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert inner["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert inner["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert inner["tools"][0]["functionDeclarations"][0]["name"] == "f"


@pytest.mark.parametrize(
    ("raw", "tokens"),
    [
        (b'{"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]}', 31),
        (b'{"totalTokens": 5, "cachedContentTokenCount": 2}', 5),
        (b"{}", 0),
    ],
)
def test_parse_count(raw: bytes, tokens: int) -> None:
    assert parse_count(raw) == tokens


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b'{"totalTokens": "5"}', b'{"totalTokens": -1}', b'{"error": {"code": 400}}']
)
def test_parse_count_rejects_other_answers(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as info:
        parse_count(raw)
    assert info.value.code == "upstream_bad_response"
