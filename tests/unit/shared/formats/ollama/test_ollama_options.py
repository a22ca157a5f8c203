"""Ollama inbound: tools, format, think and options (400s naming the field, unsupported options),
and bodies exactly as the official `ollama` SDK serialises them."""

from __future__ import annotations

from typing import Any

import ollama
import pytest
from ollama._types import ChatRequest as SDKChatRequest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, ReasoningConfig, ResponseFormat, Thinking, ToolCall
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


# --- tools, format, think ----------------------------------------------------------------------


def test_tools() -> None:
    described = {
        "type": "function",
        "function": {"name": "f", "description": "Does f.", "parameters": {"type": "object"}},
    }
    request = parse(body_of(tools=[WEATHER, described, {"function": {"name": "g"}}]))
    assert [(t.name, t.description) for t in request.tools] == [("get_weather", None), ("f", "Does f."), ("g", None)]
    assert request.tools[2].parameters == {"type": "object", "properties": {}}


def test_an_empty_tools_array_is_no_tools() -> None:
    assert parse(body_of(tools=[])).tools == ()  # the SDK always sends `tools`


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ({"type": "function"}, "tools"),
        (["f"], "tools[0]"),
        ([{"type": "retrieval", "function": {"name": "f"}}], "tools[0].type"),
        ([{"type": "function"}], "tools[0].function"),
        ([{"type": "function", "function": {"name": ""}}], "tools[0].function.name"),
        ([{"type": "function", "function": {"name": "f", "parameters": "{}"}}], "tools[0].function"),
        ([{"type": "function", "function": {"name": "f", "description": 1}}], "tools[0].function.description"),
    ],
)
def test_bad_tools(tools: Any, param: str) -> None:
    assert bad(body_of(tools=tools)).param == param


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", ResponseFormat("json_object")),
        ("", None),
        ({"type": "object"}, ResponseFormat("json_schema", schema={"type": "object"})),
    ],
)
def test_format(fmt: Any, expected: ResponseFormat | None) -> None:
    assert parse(body_of(format=fmt)).response_format == expected


@pytest.mark.parametrize("fmt", ["xml", 1, ["json"], True])
def test_bad_format(fmt: Any) -> None:
    assert bad(body_of(format=fmt)).param == "format"


@pytest.mark.parametrize(
    ("think", "expected"),
    [
        (True, ReasoningConfig(enabled=True, include_thoughts=True)),
        (False, ReasoningConfig(enabled=False, include_thoughts=False)),
        ("high", ReasoningConfig(effort="high", enabled=True, include_thoughts=True)),
        ("low", ReasoningConfig(effort="low", enabled=True, include_thoughts=True)),
    ],
)
def test_think(think: Any, expected: ReasoningConfig) -> None:
    assert parse(body_of(think=think)).reasoning == expected


@pytest.mark.parametrize("think", ["max", "true", 1, {}])
def test_bad_think(think: Any) -> None:
    assert bad(body_of(think=think)).param == "think"


# --- options -----------------------------------------------------------------------------------


def test_sampling_options() -> None:
    options = {
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 40,
        "num_predict": 64,
        "stop": ["END"],
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
    }
    request = parse(body_of(options=options))
    assert (request.temperature, request.top_p, request.top_k, request.max_tokens) == (0.7, 0.9, 40, 64)
    assert (request.stop, request.seed, request.presence_penalty, request.frequency_penalty) == (("END",), 7, 0.5, -0.5)
    assert request.unsupported == ()


def test_numbers_have_no_upper_bound_in_ollama() -> None:
    request = parse(body_of(options={"temperature": 3.5, "presence_penalty": 4, "frequency_penalty": -3, "top_k": 0}))
    assert (request.temperature, request.presence_penalty, request.frequency_penalty, request.top_k) == (3.5, 4, -3, 0)


def test_stop_may_be_one_string() -> None:
    assert parse(body_of(options={"stop": "END"})).stop == ("END",)


@pytest.mark.parametrize(("value", "expected"), [(-1, None), (1, 1), (None, None)])
def test_num_predict(value: Any, expected: int | None) -> None:
    assert parse(body_of(options={"num_predict": value})).max_tokens == expected


def test_num_predict_fill_context_is_unsupported() -> None:
    request = parse(body_of(options={"num_predict": -2}))
    assert request.max_tokens is None
    assert request.unsupported == ("'options.num_predict' -2 (fill the context)",)


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ("hot", "options"),
        ([1], "options"),
        ({"temperature": -0.1}, "options.temperature"),
        ({"temperature": "0.5"}, "options.temperature"),
        ({"temperature": True}, "options.temperature"),
        ({"top_p": 1.5}, "options.top_p"),
        ({"top_k": -1}, "options.top_k"),
        ({"top_k": 1.5}, "options.top_k"),
        ({"num_predict": 0}, "options.num_predict"),
        ({"num_predict": -3}, "options.num_predict"),
        ({"num_predict": "5"}, "options.num_predict"),
        ({"num_predict": True}, "options.num_predict"),
        ({"seed": "7"}, "options.seed"),
        ({"stop": [1]}, "options.stop"),
        ({"stop": 5}, "options.stop"),
        ({"presence_penalty": [1]}, "options.presence_penalty"),
        ({"frequency_penalty": "x"}, "options.frequency_penalty"),
    ],
)
def test_bad_options(options: Any, param: str) -> None:
    assert bad(body_of(options=options)).param == param


def test_runtime_options_and_keep_alive_only_concern_a_local_server() -> None:
    request = parse(
        body_of(options={"num_ctx": 8192, "num_gpu": 1, "num_thread": 8, "use_mmap": True}, keep_alive="5m")
    )
    assert request.unsupported == ()


def test_options_that_change_the_answer_are_unsupported() -> None:
    request = parse(
        body_of(options={"repeat_penalty": 1.1, "min_p": 0.05, "mirostat": 1, "x_custom": 1, "tfs_z": None})
    )
    assert request.unsupported == (
        "'options.min_p'",
        "'options.mirostat'",
        "'options.repeat_penalty'",
        "'options.x_custom'",
    )


@pytest.mark.parametrize("keep_alive", ["5m", 300, 0, -1, 1.5, None])
def test_keep_alive(keep_alive: Any) -> None:
    assert parse(body_of(keep_alive=keep_alive)).unsupported == ()


@pytest.mark.parametrize("keep_alive", [True, ["5m"], {"m": 5}])
def test_bad_keep_alive(keep_alive: Any) -> None:
    assert bad(body_of(keep_alive=keep_alive)).param == "keep_alive"


def test_unknown_fields_are_unsupported_not_dropped() -> None:
    raw = body_of(
        logprobs=True,
        top_logprobs=3,
        template="{{ .Prompt }}",
        messages=[{"role": "user", "content": "hi", "name": "ada"}],
    )
    parsed = parse_ollama(raw, RequestContext())
    assert parsed.request.unsupported == ("'logprobs'", "'name' in messages", "'template'", "'top_logprobs'")
    assert parsed.body["template"] == "{{ .Prompt }}"


def test_logprobs_off_is_fine() -> None:
    assert parse(body_of(logprobs=False, top_logprobs=0)).unsupported == ()


# --- what the official SDK sends ---------------------------------------------------------------


def sdk_body(**kwargs: Any) -> bytes:
    request = SDKChatRequest(**kwargs)  # what Client.chat serialises
    return jsonx.dumps(request.model_dump(exclude_none=True))


def test_sdk_request_parses() -> None:
    raw = sdk_body(
        model="qwen3",
        messages=[
            ollama.Message(role="system", content="Be brief."),
            ollama.Message(role="user", content="Weather?", images=[ollama.Image(value=PNG)]),
            ollama.Message(
                role="assistant",
                thinking="Use the tool.",
                tool_calls=[
                    ollama.Message.ToolCall(
                        function=ollama.Message.ToolCall.Function(name="get_weather", arguments={"city": "Paris"})
                    )
                ],
            ),
            ollama.Message(role="tool", tool_name="get_weather", content="18C"),
        ],
        tools=[ollama.Tool.model_validate(WEATHER)],
        stream=False,
        think="high",
        format="json",
        options=ollama.Options(temperature=0.1, num_predict=100, num_ctx=2048),
        keep_alive="10m",
    )
    request = parse(raw)
    assert request.stream is False
    assert request.unsupported == ()
    assert request.reasoning == ReasoningConfig(effort="high", enabled=True, include_thoughts=True)
    assert (request.temperature, request.max_tokens) == (0.1, 100)
    assert request.messages[1].content[1] == Image(data=PNG, media_type="image/png")
    assert request.messages[2].content == (
        Thinking(text="Use the tool."),
        ToolCall(id="call_2_0", name="get_weather", arguments='{"city":"Paris"}'),
    )
    assert request.messages[3].content[0].tool_call_id == "call_2_0"
