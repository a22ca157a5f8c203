"""The thinking-budget and system-prompt settings as the upstream receives them (in-process edge, real fake upstream)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.edge.app import create_app
from shared.config.snapshot import NodeConfig, Snapshot
from shared.settings import Settings
from tests.integration.edge.conftest import Publish, snapshot_for

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


def with_settings(upstream: str, version: int, settings: dict[str, Any]) -> Snapshot:
    base = snapshot_for(f"{upstream}/v1", version)
    node = NodeConfig(
        id="55555555-5555-5555-5555-555555555555",
        prefix="corp",
        name="Anthropic-compatible",
        type="anthropic-compatible",
        base_url=upstream,
        models=("claude-corp",),
    )
    return msgspec.structs.replace(base, nodes=(node,), settings=settings, published_at=time.time())


def received(upstream: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{upstream}/_fake/requests").json()
    return [entry["body"] for entry in entries]


@pytest.fixture
def start_edge(settings: Settings, redis: Redis, fake_upstream: str, publish: Publish) -> Any:
    """`async with start_edge(gateway_settings) as edge`: an edge serving a snapshot with those settings."""

    versions = iter(range(9, 100))

    @asynccontextmanager
    async def start(gateway_settings: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
        await publish(with_settings(fake_upstream, next(versions), gateway_settings))
        httpx.delete(f"{fake_upstream}/_fake/requests")
        async with AsyncTestClient(app=create_app(settings)) as client:
            yield client

    return start


async def test_by_default_the_request_reaches_the_upstream_as_sent(
    start_edge: Any, fake_upstream: str, auth: dict[str, str]
) -> None:
    body = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "system", "content": "Client rule."}, {"role": "user", "content": "Hi"}],
        "reasoning_effort": "high",
        "x_unknown_field": 1,  # forwarded bytes keep even what the gateway does not model
    }
    async with start_edge({}) as edge:
        assert (await edge.post(CHAT, json=body, headers=auth)).status_code == 200
    (sent,) = received(fake_upstream)
    assert sent == {**body, "model": "gpt-4o-mini"}


async def test_system_prompt_is_prepended_and_thinking_budget_set(
    start_edge: Any, fake_upstream: str, auth: dict[str, str]
) -> None:
    gateway = {
        "systemPrompt": {"enabled": True, "prompt": "Gateway rule.", "mode": "prepend"},
        "thinkingBudget": {"mode": "custom", "tokens": 4096},
    }
    openai_body = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "system", "content": "Client rule."}, {"role": "user", "content": "Hi"}],
        "reasoning_effort": "high",
    }
    anthropic_body = {
        "model": "corp/claude-corp",
        "max_tokens": 8000,
        "system": "Client rule.",
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 30000},
    }
    async with start_edge(gateway) as edge:
        assert (await edge.post(CHAT, json=openai_body, headers=auth)).status_code == 200
        answer = await edge.post(MESSAGES, json=anthropic_body, headers=auth)
        assert answer.status_code == 200, answer.text
        plain = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
        assert (await edge.post(CHAT, json=plain, headers=auth)).status_code == 200
    to_openai, to_anthropic, without_reasoning = received(fake_upstream)
    assert [m["content"] for m in to_openai["messages"]] == ["Gateway rule.", "Client rule.", "Hi"]
    assert to_openai["reasoning_effort"] == "medium"  # OpenAI takes efforts: 4096 tokens is "medium"
    system = to_anthropic["system"]
    texts = [block["text"] for block in system] if isinstance(system, list) else [system]
    assert "\n\n".join(texts) == "Gateway rule.\n\nClient rule."
    assert to_anthropic["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    # a request that says nothing about reasoning gets none; it still gets the prompt
    assert "reasoning_effort" not in without_reasoning
    assert without_reasoning["messages"][0] == {"role": "system", "content": "Gateway rule."}


async def test_replace_mode_and_thinking_off(start_edge: Any, fake_upstream: str, auth: dict[str, str]) -> None:
    gateway = {
        "systemPrompt": {"enabled": True, "prompt": "Only this.", "mode": "replace"},
        "thinkingBudget": {"mode": "off"},
    }
    anthropic_body = {
        "model": "corp/claude-corp",
        "max_tokens": 1000,
        "system": "Client rule.",
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }
    async with start_edge(gateway) as edge:
        answer = await edge.post(MESSAGES, json=anthropic_body, headers=auth)
        assert answer.status_code == 200, answer.text
    (sent,) = received(fake_upstream)
    system = sent["system"]
    assert (system if isinstance(system, str) else system[0]["text"]) == "Only this."
    assert sent["thinking"] == {"type": "disabled"}


async def test_a_disabled_system_prompt_changes_nothing(
    start_edge: Any, fake_upstream: str, auth: dict[str, str]
) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    async with start_edge({"systemPrompt": {"enabled": False, "prompt": "Never sent."}}) as edge:
        assert (await edge.post(CHAT, json=body, headers=auth)).status_code == 200
    (sent,) = received(fake_upstream)
    assert sent == {**body, "model": "gpt-4o-mini"}


async def test_what_only_forwarded_bytes_carry_is_refused_while_a_setting_rewrites(
    start_edge: Any, fake_upstream: str, auth: dict[str, str]
) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "n": 2}
    async with start_edge({"systemPrompt": {"enabled": True, "prompt": "Gateway rule."}}) as edge:
        refused = await edge.post(CHAT, json=body, headers=auth)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "unsupported_feature"
    assert received(fake_upstream) == []


async def test_token_counts_include_the_gateway_system_prompt(
    start_edge: Any, fake_upstream: str, auth: dict[str, str]
) -> None:
    body = {"model": "corp/claude-corp", "messages": [{"role": "user", "content": "Hi"}]}
    async with start_edge({}) as edge:
        plain = await edge.post("/v1/messages/count_tokens", json=body, headers=auth)
    long_prompt = {"systemPrompt": {"enabled": True, "prompt": "Be terse. " * 200}}
    async with start_edge(long_prompt) as edge:
        prompted = await edge.post("/v1/messages/count_tokens", json=body, headers=auth)
    assert plain.status_code == prompted.status_code == 200, prompted.text
    assert prompted.json()["input_tokens"] > plain.json()["input_tokens"] + 100
    counted = received(fake_upstream)[-1]
    assert "Be terse." in str(counted["system"])
