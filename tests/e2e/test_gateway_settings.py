"""The gateway settings on a running stack with two edge processes: the client address filter is in
force on both within a second of the PUT, and the system prompt and thinking budget reach the upstream."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.stack import E2EStack

BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
NO_FILTER = {"allow": [], "block": [], "trustedProxies": []}


def post(
    edge: str, key: str, path: str = "/v1/chat/completions", source: str = "127.0.0.1", **headers: str
) -> httpx.Response:
    # A fresh connection each time, so the kernel spreads calls over all Granian workers of an edge;
    # `source` picks the client's loopback address (all of 127.0.0.0/8 is local).
    with httpx.Client(timeout=5, transport=httpx.HTTPTransport(local_address=source)) as client:
        return client.post(f"{edge}{path}", json=BODY, headers={"authorization": f"Bearer {key}", **headers})


def put(e2e: E2EStack, path: str, body: dict[str, Any]) -> None:
    response = e2e.admin.put(path, json=body)
    assert response.status_code == 200, response.text


def seconds_until_every_edge(e2e: E2EStack, check: Callable[[str], bool], since: float) -> float:
    """How long after `since` the last edge passed `check` (each edge is polled until it does)."""
    passed: dict[str, float] = {}
    while len(passed) < len(e2e.edges) and time.monotonic() - since < 3:
        for edge in e2e.edges:
            if edge not in passed and check(edge):
                passed[edge] = time.monotonic() - since
    assert set(passed) == set(e2e.edges), passed
    return max(passed.values())


@pytest.fixture
def restored(e2e: E2EStack) -> Iterator[E2EStack]:
    """The stack is shared by the e2e session: whatever a test sets here is undone."""
    try:
        yield e2e
    finally:
        put(e2e, "/api/settings/ip-filter", NO_FILTER)
        put(e2e, "/api/settings/system-prompt", {"enabled": False, "prompt": "", "mode": "prepend"})
        put(e2e, "/api/settings/thinking-budget", {"mode": "passthrough", "tokens": None})
        deadline = time.monotonic() + 3
        while any(post(edge, e2e.key).status_code != 200 for edge in e2e.edges):
            assert time.monotonic() < deadline, "the edges never served again"
            time.sleep(0.05)


def test_a_blocked_address_is_refused_by_both_edges_within_a_second(restored: E2EStack) -> None:
    e2e = restored
    for edge in e2e.edges:
        assert post(edge, e2e.key).status_code == 200
    started = time.monotonic()
    put(e2e, "/api/settings/ip-filter", {"block": ["127.0.0.0/8", "::1"]})
    assert seconds_until_every_edge(e2e, lambda edge: post(edge, e2e.key).status_code == 403, started) < 1.0
    for edge in e2e.edges:
        refused = [post(edge, e2e.key) for _ in range(4)]
        assert all(r.status_code == 403 for r in refused)
        assert refused[0].json()["error"]["code"] == "ip_not_allowed"
        anthropic = post(edge, e2e.key, "/v1/messages")
        assert anthropic.status_code == 403
        assert anthropic.json()["type"] == "error"
        assert httpx.get(f"{edge}/healthz").status_code == 200  # probes are not clients

    # an allow list admits only its addresses
    started = time.monotonic()
    put(e2e, "/api/settings/ip-filter", {"allow": ["10.0.0.0/8", "127.0.0.3"], "block": []})
    assert (
        seconds_until_every_edge(e2e, lambda edge: post(edge, e2e.key, source="127.0.0.3").status_code == 200, started)
        < 1.0
    )
    for edge in e2e.edges:
        assert post(edge, e2e.key).status_code == 403
        assert post(edge, e2e.key, source="127.0.0.3").status_code == 200


def test_forwarded_for_is_believed_only_from_trusted_proxies(restored: E2EStack) -> None:
    e2e = restored
    started = time.monotonic()
    put(e2e, "/api/settings/ip-filter", {"block": ["203.0.113.0/24", "127.0.0.2"]})
    refused = seconds_until_every_edge(
        e2e, lambda edge: post(edge, e2e.key, source="127.0.0.2").status_code == 403, started
    )
    assert refused < 1.0
    # no trusted proxy: a forged header changes nothing, the socket peer is the client
    forged = {"x-forwarded-for": "203.0.113.5"}
    for edge in e2e.edges:
        assert post(edge, e2e.key, **forged).status_code == 200
        assert post(edge, e2e.key, source="127.0.0.2", **{"x-forwarded-for": "198.51.100.1"}).status_code == 403
    put(e2e, "/api/settings/ip-filter", {"trustedProxies": ["127.0.0.0/8"]})
    started = time.monotonic()
    assert seconds_until_every_edge(e2e, lambda edge: post(edge, e2e.key, **forged).status_code == 403, started) < 1.0
    for edge in e2e.edges:
        assert post(edge, e2e.key, **{"x-forwarded-for": "198.51.100.1"}).status_code == 200
        # the client forged a left part; the proxy appended the real (blocked) address
        assert post(edge, e2e.key, **{"x-forwarded-for": "198.51.100.1, 203.0.113.9"}).status_code == 403


def requests_seen(e2e: E2EStack) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{e2e.stack.fake_upstream_url}/_fake/requests").json()
    return [entry["body"] for entry in entries]


def test_system_prompt_and_thinking_budget_reach_the_upstream_from_both_edges(restored: E2EStack) -> None:
    e2e = restored
    put(e2e, "/api/settings/system-prompt", {"enabled": True, "prompt": "Answer briefly.", "mode": "prepend"})
    put(e2e, "/api/settings/thinking-budget", {"mode": "custom", "tokens": 1024})
    reasoning = {**BODY, "reasoning_effort": "high"}
    time.sleep(1.0)  # within a second every edge has the snapshot
    for edge in e2e.edges:
        httpx.delete(f"{e2e.stack.fake_upstream_url}/_fake/requests")
        with httpx.Client(timeout=5) as client:
            answer = client.post(
                f"{edge}/v1/chat/completions", json=reasoning, headers={"authorization": f"Bearer {e2e.key}"}
            )
        assert answer.status_code == 200, answer.text
        (sent,) = requests_seen(e2e)
        assert sent["messages"][0] == {"role": "system", "content": "Answer briefly."}
        assert sent["messages"][1:] == BODY["messages"]
        assert sent["reasoning_effort"] == "low"  # 1024 tokens is a low effort for an OpenAI-style provider
    put(e2e, "/api/settings/system-prompt", {"enabled": False})
    put(e2e, "/api/settings/thinking-budget", {"mode": "passthrough"})
    time.sleep(1.0)
    for edge in e2e.edges:
        httpx.delete(f"{e2e.stack.fake_upstream_url}/_fake/requests")
        assert post(edge, e2e.key).status_code == 200
        assert requests_seen(e2e) == [{**BODY, "model": "gpt-4o-mini"}]  # off again: exactly as sent
