"""Every official SDK against every provider dialect, through the running stack (SPEC §2, issue 3).

Clients: openai (chat and responses), anthropic (messages, count_tokens), google-genai
(generate_content), ollama (chat) — each plain and streaming. Providers: one connection per
provider dialect, all pointing at the fake upstream, which speaks each provider's real wire format.
The fake answers every dialect with the same deterministic text, so one assertion fits all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import anthropic
import ollama
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from tests.support.stack import E2EStack, wait_until_serving

PROVIDER_MODELS = {
    "openai_chat": "openai/gpt-4o-mini",
    "openai_responses": "openai-responses/gpt-4o-mini",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-flash",
    "ollama": "ollama/llama3.2",
}
PROMPT = "Say hello to the matrix"
EXPECTED = f"Hello! You said: {PROMPT}"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module", autouse=True)
def providers(e2e: E2EStack) -> Iterator[None]:
    """One connection per provider dialect on the fake upstream (the stack already has `openai`)."""
    fake = e2e.stack.fake_upstream_url
    created = []
    for provider, base in (("openai-responses", f"{fake}/v1"), ("anthropic", fake), ("gemini", fake), ("ollama", fake)):
        response = e2e.admin.post(
            "/api/providers", json={"provider": provider, "name": "fake", "apiKey": "sk-fake-e2e-key", "baseUrl": base}
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    wait_until_serving(e2e)
    yield
    for ident in created:
        e2e.admin.delete(f"/api/providers/{ident}")


def _openai(e2e: E2EStack) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{e2e.edges[0]}/v1", api_key=e2e.key, max_retries=0, timeout=20)


def _anthropic(e2e: E2EStack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=e2e.edges[1], api_key=e2e.key, max_retries=0, timeout=20)


def _genai(e2e: E2EStack) -> genai.Client:
    return genai.Client(api_key=e2e.key, http_options=genai_types.HttpOptions(base_url=e2e.edges[0], timeout=20_000))


def _ollama(e2e: E2EStack) -> ollama.Client:
    return ollama.Client(host=e2e.edges[1], headers={"Authorization": f"Bearer {e2e.key}"}, timeout=20)


def chat_plain(e2e: E2EStack, model: str) -> str:
    completion = _openai(e2e).chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}])
    return completion.choices[0].message.content or ""


def chat_stream(e2e: E2EStack, model: str) -> str:
    stream = _openai(e2e).chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def responses_plain(e2e: E2EStack, model: str) -> str:
    return _openai(e2e).responses.create(model=model, input=PROMPT).output_text


def responses_stream(e2e: E2EStack, model: str) -> str:
    text = ""
    completed = None
    for event in _openai(e2e).responses.create(model=model, input=PROMPT, stream=True):
        if event.type == "response.output_text.delta":
            text += event.delta
        elif event.type == "response.completed":
            completed = event.response
    assert completed is not None
    assert completed.output_text == text
    return text


def messages_plain(e2e: E2EStack, model: str) -> str:
    message = _anthropic(e2e).messages.create(
        model=model, max_tokens=256, messages=[{"role": "user", "content": PROMPT}]
    )
    return "".join(block.text for block in message.content if block.type == "text")


def messages_stream(e2e: E2EStack, model: str) -> str:
    with _anthropic(e2e).messages.stream(
        model=model, max_tokens=256, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    return text


def gemini_plain(e2e: E2EStack, model: str) -> str:
    client = _genai(e2e)  # held: a collected genai.Client closes its transport
    return client.models.generate_content(model=model, contents=PROMPT).text or ""


def gemini_stream(e2e: E2EStack, model: str) -> str:
    client = _genai(e2e)
    return "".join(chunk.text or "" for chunk in client.models.generate_content_stream(model=model, contents=PROMPT))


def ollama_plain(e2e: E2EStack, model: str) -> str:
    return _ollama(e2e).chat(model=model, messages=[{"role": "user", "content": PROMPT}]).message.content or ""


def ollama_stream(e2e: E2EStack, model: str) -> str:
    chunks = _ollama(e2e).chat(model=model, messages=[{"role": "user", "content": PROMPT}], stream=True)
    return "".join(chunk.message.content or "" for chunk in chunks)


CLIENTS: dict[str, Callable[[E2EStack, str], str]] = {
    "openai-chat": chat_plain,
    "openai-chat-stream": chat_stream,
    "openai-responses": responses_plain,
    "openai-responses-stream": responses_stream,
    "anthropic": messages_plain,
    "anthropic-stream": messages_stream,
    "google-genai": gemini_plain,
    "google-genai-stream": gemini_stream,
    "ollama": ollama_plain,
    "ollama-stream": ollama_stream,
}


@pytest.mark.parametrize("provider", list(PROVIDER_MODELS))
@pytest.mark.parametrize("client", list(CLIENTS))
def test_every_sdk_reaches_every_provider_dialect(e2e: E2EStack, client: str, provider: str) -> None:
    assert CLIENTS[client](e2e, PROVIDER_MODELS[provider]) == EXPECTED


@pytest.mark.parametrize("provider", list(PROVIDER_MODELS))
def test_tool_calls_reach_an_openai_client(e2e: E2EStack, provider: str) -> None:
    completion = _openai(e2e).chat.completions.create(
        model=PROVIDER_MODELS[provider],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[{"type": "function", "function": WEATHER}],
    )
    [call] = completion.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id
    assert completion.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("provider", list(PROVIDER_MODELS))
def test_tool_calls_stream_to_an_anthropic_client(e2e: E2EStack, provider: str) -> None:
    tool = {"name": WEATHER["name"], "description": WEATHER["description"], "input_schema": WEATHER["parameters"]}
    with _anthropic(e2e).messages.stream(
        model=PROVIDER_MODELS[provider],
        max_tokens=256,
        tools=[tool],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as stream:
        final = stream.get_final_message()
    [block] = [b for b in final.content if b.type == "tool_use"]
    assert block.name == "get_weather"
    assert block.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


def test_count_tokens_uses_the_provider_or_an_estimate(e2e: E2EStack) -> None:
    client = _anthropic(e2e)
    for model in PROVIDER_MODELS.values():
        counted = client.messages.count_tokens(model=model, messages=[{"role": "user", "content": PROMPT}])
        assert counted.input_tokens > 0


def test_model_lists_in_each_dialect(e2e: E2EStack) -> None:
    openai_ids = {m.id for m in _openai(e2e).models.list()}
    assert set(PROVIDER_MODELS.values()) <= openai_ids
    anthropic_ids = {m.id for m in _anthropic(e2e).models.list()}
    assert set(PROVIDER_MODELS.values()) <= anthropic_ids
    gemini = _genai(e2e)
    gemini_names = {m.name for m in gemini.models.list()}
    assert "models/gemini/gemini-2.5-flash" in gemini_names
    tags = {m.model for m in _ollama(e2e).list().models}
    assert "ollama/llama3.2" in tags
