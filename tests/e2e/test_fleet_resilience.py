"""Routing and resilience held by the whole fleet: three edge processes on one Redis, faults
scripted on the fake upstream, and what every edge does about them.

Two connections of one provider (`primary`, then `secondary` by priority) share the fake upstream
and are told apart by their upstream keys; a second provider (groq) carries the breaker scenario
so its failures do not touch the others.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from services.cli.local_stack import EdgeSpec
from shared.kv import keys
from tests.support.env import free_port, redis_url
from tests.support.fleet import (
    clear_scripts,
    concurrently,
    fingerprint,
    ledger,
    metric_sum,
    script,
    wait_config_everywhere,
)
from tests.support.stack import UPSTREAM_KEY, E2EStack, start_stack

DATABASE = "omniroute_e2e_fleet"
REDIS_DB = 14
SECONDARY_KEY = "sk-fake-upstream-fleet-secondary-0123456789"
GROQ_KEY = "sk-fake-upstream-fleet-groq-0123456789abcdef"
PRIMARY, SECONDARY = fingerprint(UPSTREAM_KEY), fingerprint(SECONDARY_KEY)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    url = redis_url(REDIS_DB)
    redis.Redis.from_url(url).flushdb()
    stack = start_stack(
        DATABASE,
        tmp_path_factory.mktemp("fleet-stack"),
        url,
        REDIS_DB,
        tuple(EdgeSpec(free_port(), workers=1) for _ in range(3)),
    )
    try:
        base = f"{stack.stack.fake_upstream_url}/v1"
        for provider, name, key, priority in (
            ("openai", "secondary", SECONDARY_KEY, 2),
            ("groq", "groq-main", GROQ_KEY, 1),
        ):
            created = stack.admin.post(
                "/api/providers",
                json={"provider": provider, "name": name, "apiKey": key, "baseUrl": base, "priority": priority},
            )
            assert created.status_code == 201, created.text
        wait_config_everywhere(stack)
        yield stack
    finally:
        stack.admin.close()
        stack.stack.stop()


@pytest.fixture(autouse=True)
def clean(fleet: E2EStack) -> Iterator[None]:
    """Every scenario starts with no faults and no shared resilience state."""
    clear_scripts(fleet)
    _forget_shared_state(fleet)
    yield
    clear_scripts(fleet)
    _forget_shared_state(fleet)


def _forget_shared_state(stack: E2EStack) -> None:
    client = stack.redis()
    for prefix in (keys.BREAKER_PREFIX, keys.COOLDOWN_PREFIX, keys.SESSION_PREFIX, keys.IDEMPOTENCY_PREFIX):
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


def _tune(stack: E2EStack, **resilience: int) -> None:
    answer = stack.admin.patch("/api/resilience", json=resilience)
    assert answer.status_code == 200, answer.text
    wait_config_everywhere(stack)


def _chat(
    stack: E2EStack, edge: int, model: str, text: str = "hello", key: str | None = None, **headers: str
) -> Callable[[], httpx.Response]:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    sent = {"authorization": f"Bearer {key or stack.key}", **headers}

    def call() -> httpx.Response:
        return httpx.post(f"{stack.edges[edge % 3]}/v1/chat/completions", json=body, headers=sent, timeout=30)

    return call


def _stream(stack: E2EStack, edge: int, model: str, text: str = "hello", **headers: str) -> tuple[int, list[str]]:
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}
    sent = {"authorization": f"Bearer {stack.key}", **headers}
    with httpx.stream(
        "POST", f"{stack.edges[edge % 3]}/v1/chat/completions", json=body, headers=sent, timeout=30
    ) as response:
        return response.status_code, [line for line in response.iter_lines() if line]


def _model() -> str:
    return f"fleet-{uuid.uuid4().hex[:10]}"


def test_a_key_limit_of_n_per_minute_admits_exactly_n_across_three_edges(fleet: E2EStack) -> None:
    created = fleet.create_key("limited", maxRequestsPerMinute=12)
    wait_config_everywhere(fleet)
    model = "openai/" + _model()
    answers = concurrently([_chat(fleet, i, model, key=created["key"]) for i in range(36)])
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) == 12
    assert statuses.count(429) == 24
    assert len(ledger(fleet, model.removeprefix("openai/"))) == 12  # refusals never reached the upstream
    for answer in answers:
        assert answer.headers["x-ratelimit-limit-requests"] == "12"
        if answer.status_code == 429:
            assert int(answer.headers["retry-after"]) >= 1
            assert int(answer.headers["retry-after-ms"]) > 0
            assert answer.headers["x-ratelimit-remaining-requests"] == "0"
            assert answer.json()["error"]["code"] == "rate_limit_exceeded"


def test_a_breaker_opens_at_its_threshold_and_half_open_lets_exactly_one_probe_through(fleet: E2EStack) -> None:
    _tune(fleet, breakerFailureThreshold=3, breakerResetMs=1500, maxRetries=0)
    try:
        _breaker_scenario(fleet)
    finally:
        _tune(fleet, breakerFailureThreshold=5, breakerResetMs=30_000, maxRetries=1)


def _breaker_scenario(fleet: E2EStack) -> None:
    model = _model()
    script(fleet, {"status": 503}, model=model)
    for edge in range(3):  # one failure counted from each edge
        assert _chat(fleet, edge, f"groq/{model}")().status_code == 502
    assert len(ledger(fleet, model)) == 3

    refused = _chat(fleet, 0, f"groq/{model}")()
    assert refused.status_code == 503  # open: nobody sends
    assert refused.json()["error"]["code"] == "no_target_available"
    assert int(refused.headers["retry-after"]) >= 1
    assert len(ledger(fleet, model)) == 3

    time.sleep(1.6)  # the open period passes: the fleet may send one probe
    clear_scripts(fleet)
    # A slow probe, so the others arrive while it is out even on a loaded machine (once it succeeds
    # the breaker closes and later arrivals are rightly served).
    script(fleet, {"delay_ms": 4000}, model=model)
    answers = concurrently([_chat(fleet, i, f"groq/{model}") for i in range(30)])
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(503) == 29
    assert len(ledger(fleet, model)) == 4  # exactly one probe reached the upstream

    clear_scripts(fleet)
    assert [_chat(fleet, edge, f"groq/{model}")().status_code for edge in range(3)] == [200, 200, 200]  # closed


def test_fifty_concurrent_duplicates_over_three_edges_make_one_upstream_call(fleet: E2EStack) -> None:
    model = _model()
    token = f"idem-{uuid.uuid4()}"
    answers = concurrently(
        [
            _chat(fleet, i, f"openai/{model}", "[[fake delay_ms=400]] once", **{"Idempotency-Key": token})
            for i in range(50)
        ]
    )
    assert [answer.status_code for answer in answers] == [200] * 50
    assert len({answer.content for answer in answers}) == 1
    assert sum(answer.headers.get("x-omniroute-idempotent") == "true" for answer in answers) == 49
    assert len(ledger(fleet, model)) == 1

    other = _chat(fleet, 1, f"openai/{model}", "another body", **{"Idempotency-Key": token})()
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_streamed_answer_replays_as_the_same_stream_on_another_edge(fleet: E2EStack) -> None:
    model = _model()
    token = f"idem-{uuid.uuid4()}"
    first = _stream(fleet, 0, f"openai/{model}", "stream once", **{"Idempotency-Key": token})
    again = _stream(fleet, 2, f"openai/{model}", "stream once", **{"Idempotency-Key": token})
    assert first[0] == again[0] == 200
    assert first[1] == again[1]
    assert first[1][-1] == "data: [DONE]"
    assert len(ledger(fleet, model)) == 1


def test_an_upstream_429_cools_the_connection_on_every_edge_and_traffic_moves_on(fleet: E2EStack) -> None:
    model = _model()
    script(fleet, {"status": 429, "retry_after": 2}, model=model, api_key=UPSTREAM_KEY, times=1)
    moved = _chat(fleet, 0, f"openai/{model}", "first")()
    assert moved.status_code == 200
    assert moved.headers["x-omniroute-fallback-attempts"] == "1"
    assert [entry["key"] for entry in ledger(fleet, model)] == [PRIMARY, SECONDARY]

    for edge in (1, 2, 0):  # every edge skips the cooling connection without trying it
        assert _chat(fleet, edge, f"openai/{model}", f"on edge {edge}")().status_code == 200
    assert [entry["key"] for entry in ledger(fleet, model)][2:] == [SECONDARY] * 3

    time.sleep(2.1)  # Retry-After: 2 has passed
    assert _chat(fleet, 1, f"openai/{model}", "after the cooldown")().status_code == 200
    assert ledger(fleet, model)[-1]["key"] == PRIMARY


def test_a_stall_before_the_first_byte_falls_back_within_the_first_byte_timeout(fleet: E2EStack) -> None:
    _tune(fleet, firstByteTimeoutMs=500)
    try:
        model = _model()
        script(fleet, {"delay_ms": 5000}, model=model, api_key=UPSTREAM_KEY, times=1)
        started = time.perf_counter()
        answer = _chat(fleet, 0, f"openai/{model}")()
        assert time.perf_counter() - started < 1.5
        assert answer.status_code == 200
        assert answer.headers["x-omniroute-fallback-attempts"] == "1"

        # A stream whose headers came but whose first event did not has not started either.
        script(fleet, {"stall_after_headers_ms": 5000}, model=model, api_key=UPSTREAM_KEY, times=1)
        started = time.perf_counter()
        status, lines = _stream(fleet, 1, f"openai/{model}", "a new conversation")
        assert time.perf_counter() - started < 1.5
        assert status == 200
        assert lines[-1] == "data: [DONE]"
        assert [entry["key"] for entry in ledger(fleet, model)][-2:] == [PRIMARY, SECONDARY]
    finally:
        _tune(fleet, firstByteTimeoutMs=120_000)


def test_a_failure_after_the_first_byte_ends_the_stream_in_band_without_fallback(fleet: E2EStack) -> None:
    model = _model()
    script(fleet, {"upstream_error_after": 2}, model=model, api_key=UPSTREAM_KEY, times=1)
    status, lines = _stream(fleet, 2, f"openai/{model}")
    assert status == 200
    assert lines[0].startswith('data: {"id"')
    assert lines[-1].startswith('data: {"error"')
    assert "data: [DONE]" not in lines
    assert [entry["key"] for entry in ledger(fleet, model)] == [PRIMARY]  # nobody else was asked


def test_a_plain_request_makes_at_most_two_redis_round_trips(fleet: E2EStack) -> None:
    """The Ollama route is used by nothing else here, so its histogram holds only these requests."""
    body: dict[str, Any] = {
        "model": "openai/gpt-4o-mini",
        "stream": False,
        "messages": [{"role": "user", "content": "hi"}],
    }
    for i in range(30):
        answer = httpx.post(
            f"{fleet.edges[i % 3]}/api/chat", json=body, headers={"authorization": f"Bearer {fleet.key}"}, timeout=10
        )
        assert answer.status_code == 200
    time.sleep(0.3)  # settlements run after the answers
    name = "omniroute_redis_round_trips_per_request"
    assert metric_sum(fleet, f"{name}_count", route="ollama.chat") == 30
    assert metric_sum(fleet, f"{name}_bucket", route="ollama.chat", le="2.0") == 30
    assert metric_sum(fleet, f"{name}_sum", route="ollama.chat") >= 30  # admission at least


def test_a_combo_is_listed_and_rotated_as_one_by_every_edge(fleet: E2EStack) -> None:
    name = f"rr-{uuid.uuid4().hex[:8]}"
    first, second = _model(), _model()
    created = fleet.admin.post(
        "/api/combos",
        json={"name": name, "strategy": "round-robin", "models": [f"openai/{first}", f"openai/{second}"]},
    )
    assert created.status_code == 201, created.text
    wait_config_everywhere(fleet)
    for edge in fleet.edges:
        listing = httpx.get(f"{edge}/v1/models", headers={"authorization": f"Bearer {fleet.key}"}).json()["data"]
        assert {"combo"} == {m["owned_by"] for m in listing if m["id"] == name}

    for i in range(6):  # one shared rotation counter: the fleet alternates, whichever edge answers
        assert _chat(fleet, i, name, f"turn {i}")().status_code == 200
    models = [entry["model"] for entry in ledger(fleet) if entry["model"] in (first, second)]
    assert models == [first, second] * 3


def test_a_priority_combo_falls_back_in_order_and_lists_every_attempt_when_all_fail(fleet: E2EStack) -> None:
    name = f"chain-{uuid.uuid4().hex[:8]}"
    first, second = _model(), _model()
    created = fleet.admin.post(
        "/api/combos", json={"name": name, "strategy": "priority", "models": [f"openai/{first}", f"openai/{second}"]}
    )
    assert created.status_code == 201, created.text
    wait_config_everywhere(fleet)
    script(fleet, {"status": 404}, model=first)
    answer = _chat(fleet, 0, name, "try the chain")()
    assert answer.status_code == 200
    assert answer.headers["x-omniroute-model"] == second
    # 404 moved on to the second model; both connections of the first were asked
    assert [e["model"] for e in ledger(fleet) if e["model"] in (first, second)] == [first, first, second]

    script(fleet, {"status": 404}, model=second)
    failed = _chat(fleet, 1, name, "all fail")()
    assert failed.status_code == 502
    message = failed.json()["error"]["message"]
    assert failed.json()["error"]["code"] == "all_targets_failed"
    for model in (first, second):
        assert f"openai/{model} via 'fake'" in message
        assert f"openai/{model} via 'secondary'" in message
    assert _chat(fleet, 2, "no-such-model-anywhere")().status_code == 404
