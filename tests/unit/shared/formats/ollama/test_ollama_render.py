"""Ollama client side rendering: results, errors and the model list, as the official `ollama` SDK reads them."""

from __future__ import annotations

import ollama
import pytest

from shared import jsonx
from shared.canonical.chat import ChatRequest, Message, Text, Thinking, ToolCall
from shared.canonical.errors import BadRequest, GatewayError, RateLimited, UpstreamError
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.ollama.inbound import error_body, render_error, render_result, render_tags

# --- rendering ---------------------------------------------------------------------------------


RESULT = ChatResult(
    id="msg_1",
    model="claude-sonnet-4-5",
    created=1_731_000_000,
    content=(
        Thinking(text="Need the tool.", signature="sig"),
        Text("Checking."),
        ToolCall(id="toolu_1", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="toolu_2", name="get_time", arguments="not json"),
    ),
    stop_reason="tool_use",
    usage=Usage(input_tokens=120, output_tokens=45, cached_tokens=100, reasoning_tokens=9, reported=True),
)
REQUEST = ChatRequest(model="anthropic/claude", messages=(Message("user", (Text("hi"),)),), dialect="ollama")


def test_render_result_shape() -> None:
    body = jsonx.loads(render_result(RESULT, REQUEST))
    assert body == {
        "model": "claude-sonnet-4-5",
        "created_at": "2024-11-07T17:20:00Z",
        "message": {
            "role": "assistant",
            "content": "Checking.",
            "thinking": "Need the tool.",
            "tool_calls": [
                {"id": "toolu_1", "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}},
                {"id": "toolu_2", "function": {"index": 1, "name": "get_time", "arguments": {"_raw": "not json"}}},
            ],
        },
        "done_reason": "stop",
        "done": True,
        "prompt_eval_count": 120,
        "eval_count": 45,
    }


def test_render_result_is_what_the_sdk_reads() -> None:
    response = ollama.ChatResponse(**jsonx.loads(render_result(RESULT, REQUEST)))
    assert response.done is True
    assert response.message.thinking == "Need the tool."
    assert response.message.tool_calls is not None
    assert response.message.tool_calls[0].function.arguments == {"city": "Paris"}
    assert (response.prompt_eval_count, response.eval_count) == (120, 45)


def test_render_result_length_and_no_usage() -> None:
    result = ChatResult(id="", model="", content=(Text("One, two"),), stop_reason="max_tokens")
    body = jsonx.loads(render_result(result, REQUEST))
    assert body["done_reason"] == "length"
    assert body["model"] == "anthropic/claude"  # the upstream named no model
    assert "prompt_eval_count" not in body and "eval_count" not in body
    assert "thinking" not in body["message"] and "tool_calls" not in body["message"]


@pytest.mark.parametrize(
    "error",
    [
        BadRequest("bad thing", param="messages", code="missing_required_parameter"),
        RateLimited("slow down"),
        UpstreamError("upstream broke", code="upstream_auth_error"),
        GatewayError("boom"),
    ],
)
def test_render_error_shape(error: GatewayError) -> None:
    rendered = render_error(error)
    assert jsonx.loads(rendered) == {"error": error.message} == error_body(error)
    assert ollama.ResponseError(rendered.decode(), error.status).error == error.message  # as the SDK reads it


def test_render_tags() -> None:
    body = jsonx.loads(render_tags([("openai/gpt-4o-mini", "openai"), ("local/llama3.2", "")]))
    first = body["models"][0]
    assert first["name"] == first["model"] == "openai/gpt-4o-mini"
    assert first["details"]["family"] == "openai"
    assert first["details"]["families"] == ["openai"]
    assert body["models"][1]["details"]["families"] == []
    assert len(first["digest"]) == 64
    assert first["digest"] == jsonx.loads(render_tags([("openai/gpt-4o-mini", "x")]))["models"][0]["digest"]
    listed = ollama.ListResponse(**body)  # what Client.list() parses
    assert [m.model for m in listed.models] == ["openai/gpt-4o-mini", "local/llama3.2"]
    assert listed.models[0].size == 0


def test_render_tags_empty() -> None:
    assert jsonx.loads(render_tags([])) == {"models": []}
