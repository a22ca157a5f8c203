"""Translation behaviour through the running stack: streams, signatures across turns, addressing.

The fake upstream refuses what the real providers refuse: Anthropic (thinking on) a tool-calling
turn sent back without its signed thinking, Gemini 3 a function call sent back without its
thoughtSignature. So a test passes only if the gateway really carried the signatures across turns,
across edge replicas, through clients whose APIs cannot hold them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import ollama
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from tests.support.stack import E2EStack, wait_until_serving

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
OPENAI_TOOLS = [{"type": "function", "function": WEATHER}]
ANTHROPIC_TOOLS = [
    {"name": WEATHER["name"], "description": WEATHER["description"], "input_schema": WEATHER["parameters"]}
]


@pytest.fixture(scope="module", autouse=True)
def providers(e2e: E2EStack) -> Iterator[None]:
    fake = e2e.stack.fake_upstream_url
    created = []
    for provider, base in (
        ("anthropic", fake),
        ("gemini", fake),
        ("ollama", fake),
        ("deepseek", f"{fake}/v1"),
        ("openai-responses", f"{fake}/v1"),
    ):
        response = e2e.admin.post(
            "/api/providers",
            json={"provider": provider, "name": "behaviour", "apiKey": "sk-fake-behaviour", "baseUrl": base},
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    wait_until_serving(e2e)
    yield
    for ident in created:
        e2e.admin.delete(f"/api/providers/{ident}")


def fake_ledger(e2e: E2EStack) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{e2e.stack.fake_upstream_url}/_fake/ledger").json()
    return entries


# --- streams ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("edge", [0, 1])
def test_client_disconnect_cancels_the_upstream_request(e2e: E2EStack, edge: int) -> None:
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    body = {
        "model": f"openai/{probe}",
        "stream": True,
        "messages": [{"role": "user", "content": "[[fake words=40 chunk_delay_ms=100]]"}],
    }
    with httpx.stream(
        "POST",
        f"{e2e.edges[edge]}/v1/chat/completions",
        json=body,
        timeout=10,
        headers={"authorization": f"Bearer {e2e.key}"},
    ) as response:
        seen = 0
        for line in response.iter_lines():
            seen += bool(line)
            if seen >= 3:
                break
        left_at = time.time()
    deadline = time.monotonic() + 3
    entry: dict[str, Any] = {}
    while time.monotonic() < deadline:
        entry = next((e for e in fake_ledger(e2e) if e["model"] == probe), {})
        if entry.get("outcome") == "client_gone":
            break
        time.sleep(0.05)
    assert entry.get("outcome") == "client_gone", entry
    assert entry["gone_at"] - left_at < 1.5  # the upstream learnt within one upstream chunk, not at its end


def _cut(prompt: str) -> str:
    return f"{prompt} [[fake words=12 cut_after=5]]"


def openai_chat_cut(e2e: E2EStack) -> None:
    client = openai.OpenAI(base_url=f"{e2e.edges[0]}/v1", api_key=e2e.key, max_retries=0)
    for _ in client.chat.completions.create(
        model="anthropic/claude-sonnet-4-5", stream=True, messages=[{"role": "user", "content": _cut("hi")}]
    ):
        pass


def responses_cut(e2e: E2EStack) -> None:
    """The Responses API reports a failed stream with `error` and `response.failed` events (the SDK yields them)."""
    client = openai.OpenAI(base_url=f"{e2e.edges[0]}/v1", api_key=e2e.key, max_retries=0)
    kinds = [e.type for e in client.responses.create(model="gemini/gemini-2.5-flash", input=_cut("hi"), stream=True)]
    assert "response.completed" not in kinds
    if "error" in kinds and kinds[-1] == "response.failed":
        raise RuntimeError("upstream stream failed, reported in band")


def anthropic_cut(e2e: E2EStack) -> None:
    client = anthropic.Anthropic(base_url=e2e.edges[1], api_key=e2e.key, max_retries=0)
    with client.messages.stream(
        model="openai/gpt-4o-mini", max_tokens=100, messages=[{"role": "user", "content": _cut("hi")}]
    ) as stream:
        for _ in stream:
            pass


def gemini_cut(e2e: E2EStack) -> None:
    client = genai.Client(api_key=e2e.key, http_options=genai_types.HttpOptions(base_url=e2e.edges[0]))
    for _ in client.models.generate_content_stream(model="ollama/llama3.2", contents=_cut("hi")):
        pass


def ollama_cut(e2e: E2EStack) -> None:
    client = ollama.Client(host=e2e.edges[1], headers={"Authorization": f"Bearer {e2e.key}"})
    for _ in client.chat(
        model="openai-responses/gpt-4o-mini", stream=True, messages=[{"role": "user", "content": _cut("hi")}]
    ):
        pass


@pytest.mark.parametrize(
    "consume", [openai_chat_cut, responses_cut, anthropic_cut, gemini_cut, ollama_cut], ids=lambda f: f.__name__
)
def test_a_broken_upstream_stream_is_an_error_in_every_sdk(e2e: E2EStack, consume: Callable[[E2EStack], None]) -> None:
    with pytest.raises(Exception) as raised:  # noqa: PT011 (each SDK has its own error class)
        consume(e2e)
    assert "stream" in str(raised.value).lower() or "upstream" in str(raised.value).lower(), raised.value


def test_gemini_streaming_without_sse_is_one_json_array(e2e: E2EStack) -> None:
    response = httpx.post(
        f"{e2e.edges[0]}/v1beta/models/anthropic/claude-sonnet-4-5:streamGenerateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "array please"}]}]},
        headers={"x-goog-api-key": e2e.key},
    )
    assert response.status_code == 200
    chunks = response.json()
    assert isinstance(chunks, list) and len(chunks) > 2
    text = "".join(p.get("text", "") for c in chunks for p in c["candidates"][0]["content"].get("parts", []))
    assert text == "Hello! You said: array please"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_progress_frames_when_asked(e2e: E2EStack) -> None:
    body = {"model": "openai/gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "progress"}]}
    with httpx.stream(
        "POST",
        f"{e2e.edges[0]}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {e2e.key}", "x-omniroute-progress": "true"},
    ) as response:
        assert response.headers["x-omniroute-progress"] == "enabled"
        lines = [line for line in response.iter_lines() if line]
    progress = lines.index("event: progress")
    assert json.loads(lines[progress + 1].removeprefix("data: "))["done"] is True
    assert lines[-1] == "data: [DONE]"


# --- signatures across turns ------------------------------------------------------------------------


def test_openai_client_keeps_anthropic_thinking_across_turns_and_replicas(e2e: E2EStack) -> None:
    model = "anthropic/claude-sonnet-4-5"
    first = openai.OpenAI(base_url=f"{e2e.edges[0]}/v1", api_key=e2e.key, max_retries=0)
    user = {"role": "user", "content": "Weather in Paris?"}
    turn = first.chat.completions.create(model=model, messages=[user], tools=OPENAI_TOOLS, reasoning_effort="medium")
    message = turn.choices[0].message
    [call] = message.tool_calls or []
    reasoning = (message.model_extra or {}).get("reasoning_content")
    assert reasoning  # the thinking text reaches the client; its signature cannot
    history = [
        user,
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": reasoning,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "18C"},
    ]
    second = openai.OpenAI(base_url=f"{e2e.edges[1]}/v1", api_key=e2e.key, max_retries=0)  # another replica
    answer = second.chat.completions.create(
        model=model, messages=history, tools=OPENAI_TOOLS, reasoning_effort="medium"
    )
    assert answer.choices[0].message.content == "Tool results: 18C"
    # Without the stored signature Anthropic refuses the turn (the fake does the same).
    forged = json.loads(json.dumps(history))
    forged[1]["tool_calls"][0]["id"] = forged[2]["tool_call_id"] = "call_never_seen"
    forged[1]["tool_calls"][0]["function"]["arguments"] = '{"city": "Lyon"}'
    with pytest.raises(openai.BadRequestError, match="thinking"):
        second.chat.completions.create(model=model, messages=forged, tools=OPENAI_TOOLS, reasoning_effort="medium")


def test_anthropic_client_keeps_gemini_3_call_signatures_across_turns(e2e: E2EStack) -> None:
    model = "gemini/gemini-3-pro-preview"
    client = anthropic.Anthropic(base_url=e2e.edges[1], api_key=e2e.key, max_retries=0)
    user = {"role": "user", "content": "Weather in Paris?"}
    thinking = {"type": "enabled", "budget_tokens": 1024}
    first = client.messages.create(
        model=model, max_tokens=2048, thinking=thinking, tools=ANTHROPIC_TOOLS, messages=[user]
    )
    [tool_use] = [b for b in first.content if b.type == "tool_use"]
    history = [
        user,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "18C"}]},
    ]
    second = anthropic.Anthropic(base_url=e2e.edges[0], api_key=e2e.key, max_retries=0)
    answer = second.messages.create(
        model=model, max_tokens=2048, thinking=thinking, tools=ANTHROPIC_TOOLS, messages=history
    )
    assert [b.text for b in answer.content if b.type == "text"] == ["Tool results: 18C"]
    forged = json.loads(json.dumps(history))
    for block in forged[1]["content"]:
        if block["type"] == "tool_use":
            block["id"], block["input"] = "toolu_never_seen", {"city": "Lyon"}
    forged[2]["content"][0]["tool_use_id"] = "toolu_never_seen"
    with pytest.raises(anthropic.BadRequestError, match="thought_signature"):
        second.messages.create(model=model, max_tokens=2048, thinking=thinking, tools=ANTHROPIC_TOOLS, messages=forged)


def test_gemini_client_keeps_anthropic_thinking_signatures_across_turns(e2e: E2EStack) -> None:
    client = genai.Client(api_key=e2e.key, http_options=genai_types.HttpOptions(base_url=e2e.edges[0]))
    config = genai_types.GenerateContentConfig(
        tools=[
            genai_types.Tool(
                function_declarations=[
                    genai_types.FunctionDeclaration(
                        name=WEATHER["name"],
                        description=WEATHER["description"],
                        parameters_json_schema=WEATHER["parameters"],
                    )
                ]
            )
        ],
        thinking_config=genai_types.ThinkingConfig(include_thoughts=True, thinking_budget=1024),
    )
    user = genai_types.Content(role="user", parts=[genai_types.Part(text="Weather in Paris?")])
    model = "anthropic/claude-sonnet-4-5"
    first = client.models.generate_content(model=model, contents=[user], config=config)
    content = first.candidates[0].content
    assert any(part.thought for part in content.parts)  # thinking with its (tagged) signature reached the client
    [call] = [part.function_call for part in content.parts if part.function_call]
    result = genai_types.Content(
        role="user", parts=[genai_types.Part.from_function_response(name=call.name, response={"result": "18C"})]
    )
    second = client.models.generate_content(model=model, contents=[user, content, result], config=config)
    assert second.text == 'Tool results: {"result":"18C"}'  # a function response object travels as its JSON


def test_ollama_client_that_drops_ids_keeps_gemini_3_signatures(e2e: E2EStack) -> None:
    client = ollama.Client(host=e2e.edges[1], headers={"Authorization": f"Bearer {e2e.key}"})
    model = "gemini/gemini-3-pro-preview"
    user = {"role": "user", "content": "Weather in Paris?"}
    tools = [{"type": "function", "function": WEATHER}]
    first = client.chat(model=model, messages=[user], tools=tools, think=True)
    calls = first.message.tool_calls or []
    assert calls
    history = [
        user,
        {"role": "assistant", "content": "", "thinking": first.message.thinking, "tool_calls": calls},
        {"role": "tool", "content": "18C", "tool_name": "get_weather"},
    ]
    second = client.chat(model=model, messages=history, tools=tools, think=True)
    assert second.message.content == "Tool results: 18C"


# --- addressing and capabilities ---------------------------------------------------------------------


def test_pinned_provider_route(e2e: E2EStack) -> None:
    client = openai.OpenAI(base_url=f"{e2e.edges[0]}/v1/providers/anthropic", api_key=e2e.key, max_retries=0)
    answer = client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "pinned"}]
    )
    assert answer.headers["x-omniroute-provider"] == "anthropic"
    assert answer.parse().choices[0].message.content == "Hello! You said: pinned"
    with pytest.raises(openai.BadRequestError, match="another provider"):
        client.chat.completions.create(model="gemini/gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])


def test_provider_node_is_addressed_by_its_prefix(e2e: E2EStack) -> None:
    created = e2e.admin.post(
        "/api/provider-nodes",
        json={
            "prefix": "corpnode",
            "name": "Corp",
            "type": "anthropic-compatible",
            "baseUrl": e2e.stack.fake_upstream_url,
            "models": ["corp-large"],
        },
    )
    assert created.status_code == 201, created.text
    try:
        client = openai.OpenAI(base_url=f"{e2e.edges[1]}/v1", api_key=e2e.key, max_retries=0)
        deadline = time.monotonic() + 5
        while True:
            try:
                answer = client.chat.completions.with_raw_response.create(
                    model="corpnode/corp-large", messages=[{"role": "user", "content": "node"}]
                )
                break
            except openai.NotFoundError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert answer.headers["x-omniroute-provider"] == "corpnode"
        assert answer.parse().choices[0].message.content == "Hello! You said: node"
    finally:
        e2e.admin.delete(f"/api/provider-nodes/{created.json()['id']}")


def test_images_to_a_text_only_model_are_a_clear_400_in_the_callers_dialect(e2e: E2EStack) -> None:
    image = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    client = anthropic.Anthropic(base_url=e2e.edges[0], api_key=e2e.key, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model="deepseek/deepseek-chat",
            max_tokens=50,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this?"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": image.split(",")[1]},
                        },
                    ],
                }
            ],
        )
    assert raised.value.status_code == 400
    assert "does not accept images" in str(raised.value)
    assert raised.value.body["type"] == "error"  # type: ignore[index]


def test_usage_and_cost_headers(e2e: E2EStack) -> None:
    response = httpx.post(
        f"{e2e.edges[0]}/v1/messages",
        headers={"x-api-key": e2e.key, "anthropic-version": "2023-06-01"},
        json={
            "model": "anthropic/claude-sonnet-4-5",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "cost me"}],
        },
    )
    assert response.status_code == 200
    usage = response.json()["usage"]
    assert response.headers["x-omniroute-provider"] == "anthropic"
    assert response.headers["x-omniroute-model"] == "claude-sonnet-4-5"
    assert int(response.headers["x-omniroute-tokens-in"]) == usage["input_tokens"]
    assert int(response.headers["x-omniroute-tokens-out"]) == usage["output_tokens"]
    expected = (usage["input_tokens"] * 3.0 + usage["output_tokens"] * 15.0) / 1_000_000
    assert float(response.headers["x-omniroute-response-cost"]) == pytest.approx(expected, abs=1e-6)
