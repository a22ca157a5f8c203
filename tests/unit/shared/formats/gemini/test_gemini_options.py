"""Gemini request options: generationConfig, tools and toolConfig read (every 400 names its field),
and what the canonical request cannot carry marked unsupported rather than dropped."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, ReasoningConfig
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


# --- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "param"),
    [
        ("x", "generationConfig"),
        ({"temperature": 2.5}, "generationConfig.temperature"),
        ({"temperature": "1"}, "generationConfig.temperature"),
        ({"topP": 1.5}, "generationConfig.topP"),
        ({"topK": -1}, "generationConfig.topK"),
        ({"topK": 1.5}, "generationConfig.topK"),
        ({"maxOutputTokens": 0}, "generationConfig.maxOutputTokens"),
        ({"maxOutputTokens": True}, "generationConfig.maxOutputTokens"),
        ({"seed": "7"}, "generationConfig.seed"),
        ({"presencePenalty": 3}, "generationConfig.presencePenalty"),
        ({"frequencyPenalty": -3}, "generationConfig.frequencyPenalty"),
        ({"stopSequences": "END"}, "generationConfig.stopSequences"),
        ({"stopSequences": [1]}, "generationConfig.stopSequences"),
        ({"candidateCount": 0}, "generationConfig.candidateCount"),
        ({"responseMimeType": 1}, "generationConfig.responseMimeType"),
        ({"responseSchema": "x"}, "generationConfig.responseSchema"),
        ({"responseJsonSchema": []}, "generationConfig.responseJsonSchema"),
        ({"responseSchema": {}, "responseJsonSchema": {}}, "generationConfig"),
        ({"thinkingConfig": 1}, "generationConfig.thinkingConfig"),
        ({"thinkingConfig": {"thinkingBudget": -2}}, "generationConfig.thinkingConfig.thinkingBudget"),
        ({"thinkingConfig": {"includeThoughts": "yes"}}, "generationConfig.thinkingConfig.includeThoughts"),
        ({"thinkingConfig": {"thinkingLevel": "extreme"}}, "generationConfig.thinkingConfig"),
        ({"thinkingConfig": {"thinkingLevel": 1}}, "generationConfig.thinkingConfig.thinkingLevel"),
        ({"thinkingConfig": {"thinkingLevel": "low", "thinkingBudget": 10}}, "generationConfig.thinkingConfig"),
    ],
)
def test_bad_generation_config_names_the_field(config: Any, param: str) -> None:
    assert bad(body(generationConfig=config)).param == param


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": {"functionDeclarations": []}}, "tools"),
        ({"tools": ["x"]}, "tools[0]"),
        ({"tools": [{"functionDeclarations": {}}]}, "tools[0].functionDeclarations"),
        ({"tools": [{"functionDeclarations": [{"description": "d"}]}]}, "tools[0].functionDeclarations[0].name"),
        (
            {"tools": [{"functionDeclarations": [{"name": "f", "description": 1}]}]},
            "tools[0].functionDeclarations[0].description",
        ),
        (
            {"tools": [{"functionDeclarations": [{"name": "f", "parameters": "x"}]}]},
            "tools[0].functionDeclarations[0].parameters",
        ),
        (
            {"tools": [{"functionDeclarations": [{"name": "f", "parameters": {}, "parametersJsonSchema": {}}]}]},
            "tools[0].functionDeclarations[0]",
        ),
        ({"toolConfig": "AUTO"}, "toolConfig"),
        ({"toolConfig": {"functionCallingConfig": "ANY"}}, "toolConfig.functionCallingConfig"),
        ({"toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}, "toolConfig.functionCallingConfig.mode"),
        (
            {"toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": "f"}}},
            "toolConfig.functionCallingConfig.allowedFunctionNames",
        ),
    ],
)
def test_bad_tools_name_the_field(fields: dict[str, Any], param: str) -> None:
    assert bad(body(**fields)).param == param


def test_generation_config_is_read() -> None:
    config = {
        "maxOutputTokens": 5,
        "temperature": 0.7,
        "topP": 0.9,
        "topK": 40,
        "stopSequences": ["END"],
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "candidateCount": 1,
        "responseModalities": ["TEXT"],
    }
    request = parse(body(generationConfig=config))
    assert (request.max_tokens, request.temperature, request.top_p, request.top_k) == (5, 0.7, 0.9, 40)
    assert (request.stop, request.seed, request.presence_penalty, request.frequency_penalty) == (("END",), 7, 0.5, -0.5)
    assert request.unsupported == ()


@pytest.mark.parametrize(
    ("thinking", "expected"),
    [
        (
            {"thinkingBudget": 1024, "includeThoughts": True},
            ReasoningConfig(budget_tokens=1024, enabled=True, include_thoughts=True),
        ),
        ({"thinkingBudget": 0}, ReasoningConfig(enabled=False)),
        ({"thinkingBudget": -1}, ReasoningConfig(enabled=True)),
        ({"thinkingLevel": "HIGH"}, ReasoningConfig(effort="high", enabled=True)),
        ({"includeThoughts": True}, ReasoningConfig(include_thoughts=True)),
        ({}, None),
    ],
)
def test_thinking_config(thinking: dict[str, Any], expected: ReasoningConfig | None) -> None:
    assert parse(body(generationConfig={"thinkingConfig": thinking})).reasoning == expected


@pytest.mark.parametrize(
    ("config", "kind", "schema"),
    [
        ({"responseMimeType": "application/json"}, "json_object", None),
        ({"responseMimeType": "text/plain"}, None, None),
        (
            {
                "responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object", "additionalProperties": False},
            },
            "json_schema",
            {"type": "object", "additionalProperties": False},
        ),
        (
            {"responseSchema": {"type": "ARRAY", "items": {"type": "STRING", "nullable": True}, "max_items": 3}},
            "json_schema",
            {"type": "array", "items": {"type": ["string", "null"]}, "maxItems": 3},
        ),
    ],
)
def test_response_format(config: dict[str, Any], kind: str | None, schema: Any) -> None:
    fmt = parse(body(generationConfig=config)).response_format
    assert (fmt.type if fmt else None, fmt.schema if fmt else None) == (kind, schema)


def test_schema_objects_become_json_schema_but_property_names_are_kept() -> None:
    parameters = {
        "type": "OBJECT",
        "properties": {"max_items": {"type": "INTEGER"}, "tags": {"type": "ARRAY", "items": {"type": "STRING"}}},
        "required": ["max_items"],
        "property_ordering": ["max_items", "tags"],
    }
    tool = {"functionDeclarations": [{"name": "f", "parameters": parameters}]}
    assert parse(body(tools=[tool])).tools[0].parameters == {
        "type": "object",
        "properties": {"max_items": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["max_items"],
        "propertyOrdering": ["max_items", "tags"],
    }


def test_json_schema_parameters_pass_unchanged() -> None:
    schema = {
        "type": "object",
        "properties": {"a_b": {"type": "string"}},
        "$defs": {"x": {}},
        "additionalProperties": False,
    }
    tool = {"functionDeclarations": [{"name": "f", "parametersJsonSchema": schema}]}
    assert parse(body(tools=[tool])).tools[0].parameters == schema


@pytest.mark.parametrize(
    ("calling", "mode", "name"),
    [
        ({"mode": "AUTO"}, "auto", None),
        ({"mode": "NONE"}, "none", None),
        ({"mode": "ANY"}, "required", None),
        ({"mode": "ANY", "allowedFunctionNames": ["f"]}, "tool", "f"),
        ({}, "auto", None),
    ],
)
def test_tool_choice(calling: dict[str, Any], mode: str, name: str | None) -> None:
    choice = parse(body(toolConfig={"functionCallingConfig": calling})).tool_choice
    assert choice is not None and (choice.mode, choice.name) == (mode, name)


@pytest.mark.parametrize(
    ("fields", "unsupported"),
    [
        ({"cachedContent": "cachedContents/abc"}, "'cachedContent'"),
        ({"tools": [{"googleSearch": {}}]}, "'googleSearch' tools"),
        ({"tools": [{"codeExecution": {}}]}, "'codeExecution' tools"),
        ({"toolConfig": {"functionCallingConfig": {"mode": "VALIDATED"}}}, "functionCallingConfig mode VALIDATED"),
        (
            {"toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f", "g"]}}},
            "allowedFunctionNames other than one function with mode ANY",
        ),
        ({"toolConfig": {"retrievalConfig": {"languageCode": "en"}}}, "'toolConfig.retrievalConfig'"),
        ({"generationConfig": {"candidateCount": 2}}, "candidateCount > 1"),
        ({"generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}, "responseModalities other than TEXT"),
        ({"generationConfig": {"responseLogprobs": True}}, "'generationConfig.responseLogprobs'"),
        ({"generationConfig": {"responseMimeType": "text/x.enum"}}, "responseMimeType 'text/x.enum'"),
        (
            {"tools": [{"functionDeclarations": [{"name": "f", "behavior": "NON_BLOCKING"}]}]},
            "function declaration 'behavior'",
        ),
    ],
)
def test_features_without_a_canonical_form_are_unsupported_not_dropped(
    fields: dict[str, Any], unsupported: str
) -> None:
    assert unsupported in parse(body(**fields)).unsupported


def test_safety_settings_are_tolerated_when_translating() -> None:
    settings = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    assert parse(body(safetySettings=settings)).unsupported == ()
