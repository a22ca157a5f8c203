"""The dispatcher through one in-process edge, against real Redis and the real fake upstream:
fallback by outcome, same-target retries, cooldowns and breakers shared through Redis, timeouts
before the first byte, and the one error when every target fails.

Connections A, B, C (openai, priorities 1, 2, 3) and G (groq) all reach the same fake upstream and
are told apart by their upstream keys; faults are scripted per key, and the fake's ledger shows
which connection each attempt reached. Every request carries its own text, so the implicit
session (a fingerprint of the first user message) never pins one request's target onto another.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shared import jsonx
from shared.config.snapshot import ComboConfig, ComboStep
from shared.kv import keys
from tests.integration.edge.dispatch_support import (
    CHAT,
    CONN_A,
    CONN_B,
    KEY_A,
    KEY_B,
    KEY_C,
    KEY_G,
    Fake,
    auth,
    chat,
    edge_for,
    eventually,
    eventually_async,
    fresh_redis,
    post_concurrently,
    snapshot,
)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    async with fresh_redis() as client:
        yield client


@pytest.fixture
async def fake(fake_upstream: str) -> AsyncIterator[Fake]:
    control = Fake(fake_upstream)
    await control.reset()
    yield control
    await control.reset()
    await control.close()


@pytest.fixture
def base(fake_upstream: str) -> str:
    return f"{fake_upstream}/v1"


def error_of(response: object) -> dict[str, object]:
    error: dict[str, object] = response.json()["error"]  # type: ignore[attr-defined]
    return error


async def test_503_falls_back_to_the_next_connection(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 503}, key=KEY_A)
    async with edge_for(redis, snapshot(base)) as edge:
        response = await edge.post(CHAT, json=chat("fallback please"), headers=auth())
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello! You said: fallback please"
    assert response.headers["x-omniroute-fallback-attempts"] == "1"
    assert response.headers["x-omniroute-provider"] == "openai"
    assert await fake.calls() == [("A", 503), ("B", 200)]


async def test_a_500_is_retried_once_on_the_same_connection(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 500}, key=KEY_A, times=1)
    async with edge_for(redis, snapshot(base, resilience={"maxRetries": 1})) as edge:
        response = await edge.post(CHAT, json=chat("retry me"), headers=auth())
    assert response.status_code == 200, response.text
    assert await fake.calls() == [("A", 500), ("A", 200)]  # B was never needed
    assert response.headers["x-omniroute-fallback-attempts"] == "1"  # the failed attempt is counted


async def test_retries_stop_at_max_retries_then_fall_back(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 502}, key=KEY_A)
    async with edge_for(redis, snapshot(base, resilience={"maxRetries": 2})) as edge:
        response = await edge.post(CHAT, json=chat("retry twice"), headers=auth())
    assert response.status_code == 200, response.text
    assert await fake.calls() == [("A", 502), ("A", 502), ("A", 502), ("B", 200)]
    assert response.headers["x-omniroute-fallback-attempts"] == "3"


async def test_the_callers_own_400_is_not_retried_elsewhere(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 400}, key=KEY_A)
    async with edge_for(redis, snapshot(base, resilience={"maxRetries": 1})) as edge:
        response = await edge.post(CHAT, json=chat("bad request"), headers=auth())
    assert response.status_code == 400, response.text
    assert "x-omniroute-fallback-attempts" not in response.headers
    assert await fake.calls() == [("A", 400)]  # neither retried nor sent to B


async def test_a_400_after_a_fallback_still_counts_the_earlier_attempt(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 503}, key=KEY_A)
    await fake.script({"status": 422}, key=KEY_B)
    async with edge_for(redis, snapshot(base, connections=("A", "B", "C"))) as edge:
        response = await edge.post(CHAT, json=chat("unprocessable"), headers=auth())
    assert response.status_code == 422, response.text
    assert response.headers["x-omniroute-fallback-attempts"] == "1"
    assert await fake.calls() == [("A", 503), ("B", 422)]  # C never called


async def test_a_404_model_moves_on_without_touching_shared_state(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 404}, key=KEY_A)
    async with edge_for(redis, snapshot(base, resilience={"maxRetries": 1})) as edge:
        response = await edge.post(CHAT, json=chat("unknown model"), headers=auth())
        assert response.status_code == 200, response.text
        assert await fake.calls() == [("A", 404), ("B", 200)]  # not retried on A
        assert await redis.exists(keys.cooldown(CONN_A), keys.breaker("openai")) == 0
        again = await edge.post(CHAT, json=chat("unknown model again"), headers=auth())
    assert again.status_code == 200
    assert (await fake.calls())[2:] == [("A", 404), ("B", 200)]  # A is still tried first


async def test_a_401_cools_the_connection_so_the_next_request_skips_it(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 401}, key=KEY_A)
    config = snapshot(base, resilience={"maxRetries": 1, "authCooldownMs": 60_000})
    async with edge_for(redis, config) as edge:
        first = await edge.post(CHAT, json=chat("credential refused"), headers=auth())
        assert first.status_code == 200, first.text
        assert first.headers["x-omniroute-fallback-attempts"] == "1"
        assert 50_000 < await redis.pttl(keys.cooldown(CONN_A)) <= 60_000
        second = await edge.post(CHAT, json=chat("after the refusal"), headers=auth())
    assert second.status_code == 200
    assert "x-omniroute-fallback-attempts" not in second.headers
    assert await fake.calls() == [("A", 401), ("B", 200), ("B", 200)]
    assert "sk-upstream" not in first.text


async def test_a_429_cools_the_connection_for_its_retry_after_then_it_comes_back(
    redis: Redis, fake: Fake, base: str
) -> None:
    await fake.script({"status": 429, "retry_after": 0.4}, key=KEY_A, times=1)
    async with edge_for(redis, snapshot(base)) as edge:
        first = await edge.post(CHAT, json=chat("rate limited"), headers=auth())
        assert first.status_code == 200, first.text
        assert 0 < await redis.pttl(keys.cooldown(CONN_A)) <= 400  # exactly the upstream's hint
        during = await edge.post(CHAT, json=chat("while cooling"), headers=auth())
        assert during.status_code == 200
        assert await fake.calls() == [("A", 429), ("B", 200), ("B", 200)]
        await eventually_async(lambda: _gone(redis, keys.cooldown(CONN_A)))
        after = await edge.post(CHAT, json=chat("cooldown over"), headers=auth())
    assert after.status_code == 200
    assert (await fake.calls())[-1] == ("A", 200)


async def _gone(redis: Redis, key: str) -> bool:
    return not await redis.exists(key)


async def test_a_lone_rate_limited_connection_answers_429_with_the_upstream_wait(
    redis: Redis, fake: Fake, base: str
) -> None:
    await fake.script({"status": 429, "retry_after": 7}, key=KEY_A)
    async with edge_for(redis, snapshot(base, connections=("A",))) as edge:
        first = await edge.post(CHAT, json=chat("limited"), headers=auth())
        assert first.status_code == 429
        assert error_of(first)["code"] == "rate_limit_exceeded"
        assert first.headers["retry-after"] == "7"
        assert first.headers["retry-after-ms"] == "7000"
        cooling = await edge.post(CHAT, json=chat("still limited"), headers=auth())
    # the connection is cooling: nothing is sent, and the wait left is what the caller is told
    assert cooling.status_code == 429
    assert "cooling down" in str(error_of(cooling)["message"])
    assert cooling.headers["retry-after"] == "7"
    assert 6_000 < int(cooling.headers["retry-after-ms"]) <= 7_000
    assert await fake.calls() == [("A", 429)]


async def test_every_target_failing_gives_one_error_listing_each_attempt(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 503}, key=KEY_A)
    await fake.script({"status": 404}, key=KEY_B)
    await fake.script({"status": 429, "retry_after": 5}, key=KEY_C)
    async with edge_for(redis, snapshot(base, connections=("A", "B", "C"))) as edge:
        response = await edge.post(CHAT, json=chat("everything fails"), headers=auth())
    assert response.status_code == 502, response.text
    error = error_of(response)
    assert error["code"] == "all_targets_failed"
    message = str(error["message"])
    assert message.startswith("All 3 targets failed: ")
    assert "1) openai/gpt-4o-mini via 'alpha': 502 upstream_error" in message
    assert "2) openai/gpt-4o-mini via 'beta': 404 model_not_found" in message
    assert "3) openai/gpt-4o-mini via 'gamma': 429 rate_limit_exceeded" in message
    assert response.headers["x-omniroute-fallback-attempts"] == "3"
    assert [name for name, _ in await fake.calls()] == ["A", "B", "C"]
    assert "sk-upstream" not in response.text


async def test_a_stall_before_the_first_byte_falls_back_within_the_timeout(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"delay_ms": 900}, key=KEY_A)
    config = snapshot(base, resilience={"firstByteTimeoutMs": 300, "maxRetries": 1})
    async with edge_for(redis, config) as edge:
        started = time.monotonic()
        response = await edge.post(CHAT, json=chat("slow first"), headers=auth())
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed < 1.5  # one first-byte timeout (not retried), then B
    assert response.headers["x-omniroute-fallback-attempts"] == "1"
    assert "upstream_first_byte_timeout" not in response.text
    assert await fake.calls() == [("B", 200)]  # the fake records A's request only once its delay is over
    await fake.wait_for_calls([("B", 200), ("A", 200)])


async def test_a_stream_that_sends_headers_but_no_first_chunk_falls_back(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"stall_after_headers_ms": 3000}, key=KEY_A)
    config = snapshot(base, resilience={"firstByteTimeoutMs": 300})
    async with edge_for(redis, config) as edge:
        started = time.monotonic()
        response = await edge.post(CHAT, json=chat("stream stall", stream=True), headers=auth())
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed < 1.5
    assert response.headers["x-omniroute-fallback-attempts"] == "1"
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(
        jsonx.loads(event)["choices"][0]["delta"].get("content") or ""
        for event in events[:-1]
        if jsonx.loads(event).get("choices")
    )
    assert text == "Hello! You said: stream stall"
    assert [name for name, _ in await fake.calls()] == ["A", "B"]


async def test_the_breaker_opens_after_the_threshold_and_the_provider_is_skipped(
    redis: Redis, fake: Fake, base: str
) -> None:
    await fake.script({"status": 500}, key=KEY_G)
    config = snapshot(base, connections=("G",), resilience={"breakerFailureThreshold": 2, "breakerResetMs": 60_000})
    model = "groq/llama-3.1-8b-instant"
    async with edge_for(redis, config) as edge:
        for n in range(2):
            failed = await edge.post(CHAT, json=chat(f"failing {n}", model=model), headers=auth())
            assert failed.status_code == 502
            assert error_of(failed)["code"] == "upstream_error"  # one target: its own error
        breaker = await redis.hgetall(keys.breaker("groq"))  # type: ignore[misc]
        assert (breaker[b"state"], breaker[b"failures"], breaker[b"period"]) == (b"open", b"2", b"60000")
        skipped = await edge.post(CHAT, json=chat("breaker open", model=model), headers=auth())
    assert skipped.status_code == 503, skipped.text
    error = error_of(skipped)
    assert error["code"] == "no_target_available"
    assert "groq/llama-3.1-8b-instant: skipped (breaker_open" in str(error["message"])
    assert 55 <= int(skipped.headers["retry-after"]) <= 60
    assert 55_000 < int(skipped.headers["retry-after-ms"]) <= 60_000
    assert await fake.calls() == [("G", 500), ("G", 500)]  # nothing sent while open


async def test_an_open_breaker_sends_a_combo_to_its_next_provider(redis: Redis, fake: Fake, base: str) -> None:
    both = ComboConfig(
        id="c-both",
        name="both",
        strategy="priority",
        steps=(ComboStep(model="groq/llama-3.1-8b-instant"), ComboStep(model="openai/gpt-4o-mini")),
    )
    config = snapshot(
        base,
        connections=("A", "G"),
        combos=(both,),
        resilience={"breakerFailureThreshold": 1, "breakerResetMs": 60_000},
    )
    await fake.script({"status": 503}, key=KEY_G, times=1)
    async with edge_for(redis, config) as edge:
        first = await edge.post(CHAT, json=chat("opens it", model="both"), headers=auth())
        assert first.status_code == 200, first.text
        assert first.headers["x-omniroute-provider"] == "openai"
        second = await edge.post(CHAT, json=chat("skips groq", model="both"), headers=auth())
    assert second.status_code == 200
    assert second.headers["x-omniroute-provider"] == "openai"
    assert "x-omniroute-fallback-attempts" not in second.headers
    assert await fake.calls() == [("G", 503), ("A", 200), ("A", 200)]


async def test_a_retry_is_not_sent_into_a_breaker_that_just_opened(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 500}, key=KEY_G)
    config = snapshot(base, connections=("G",), resilience={"breakerFailureThreshold": 1, "maxRetries": 2})
    async with edge_for(redis, config) as edge:
        response = await edge.post(CHAT, json=chat("one failure opens", model="groq/x"), headers=auth())
    assert response.status_code == 502
    assert await fake.calls() == [("G", 500)]


async def test_a_success_after_a_failure_resets_the_breaker_count(redis: Redis, fake: Fake, base: str) -> None:
    """Failures count consecutively per provider: A failing while B answers never opens openai's breaker."""
    await fake.script({"status": 503}, key=KEY_A)
    config = snapshot(base, resilience={"breakerFailureThreshold": 2, "breakerResetMs": 60_000})
    async with edge_for(redis, config) as edge:
        for n in range(4):
            response = await edge.post(CHAT, json=chat(f"request {n}"), headers=auth())
            assert response.status_code == 200, (n, response.text)
            assert response.headers["x-omniroute-fallback-attempts"] == "1"
            await eventually_async(lambda: _gone(redis, keys.breaker("openai")))
    assert await fake.calls() == [("A", 503), ("B", 200)] * 4


async def test_cooled_connections_are_shared_through_redis(redis: Redis, fake: Fake, base: str) -> None:
    """A cooldown written by any edge (here: straight into Redis, as another edge would) is honoured."""
    async with edge_for(redis, snapshot(base)) as edge:
        await redis.set(keys.cooldown(CONN_A), 1, px=5_000)
        response = await edge.post(CHAT, json=chat("somebody else cooled A"), headers=auth())
        assert response.status_code == 200
        await redis.set(keys.cooldown(CONN_B), 1, px=5_000)
        both = await edge.post(CHAT, json=chat("both cooling"), headers=auth())
    assert await fake.calls() == [("B", 200)]
    assert both.status_code == 429
    assert "skipped (cooldown" in str(error_of(both)["message"])
    assert both.headers["retry-after"] == "5"


async def _open_and_due(redis: Redis, edge: object, model: str) -> None:
    """Open groq's breaker through the edge (threshold 1), then wait until its probe is due."""
    failed = await edge.post(CHAT, json=chat("opens the breaker", model=model), headers=auth())  # type: ignore[attr-defined]
    assert failed.status_code == 502
    until = int(await redis.hget(keys.breaker("groq"), "until"))  # type: ignore[misc]
    await eventually(lambda: time.time() * 1000 > until + 5)


async def test_a_due_breaker_lets_one_probe_through_and_its_success_closes_it(
    redis: Redis, fake: Fake, base: str
) -> None:
    model = "groq/llama-3.1-8b-instant"
    config = snapshot(base, connections=("G",), resilience={"breakerFailureThreshold": 1, "breakerResetMs": 200})
    await fake.script({"status": 500}, key=KEY_G, times=1)
    async with edge_for(redis, config) as edge:
        await _open_and_due(redis, edge, model)
        probe = await edge.post(CHAT, json=chat("the probe", model=model), headers=auth())
        assert probe.status_code == 200, probe.text
        assert not await redis.exists(keys.breaker("groq"), keys.breaker_probe("groq"))  # closed, forgotten
        after = await edge.post(CHAT, json=chat("closed again", model=model), headers=auth())
    assert after.status_code == 200
    assert await fake.calls() == [("G", 500), ("G", 200), ("G", 200)]


async def test_a_failed_probe_reopens_the_breaker_for_twice_as_long(redis: Redis, fake: Fake, base: str) -> None:
    model = "groq/llama-3.1-8b-instant"
    config = snapshot(
        base,
        connections=("G",),
        resilience={"breakerFailureThreshold": 1, "breakerResetMs": 200, "maxRetries": 1},
    )
    await fake.script({"status": 503}, key=KEY_G, times=2)
    async with edge_for(redis, config) as edge:
        await _open_and_due(redis, edge, model)
        probe = await edge.post(CHAT, json=chat("the probe fails", model=model), headers=auth())
        assert probe.status_code == 502
        breaker = await redis.hgetall(keys.breaker("groq"))  # type: ignore[misc]
        assert (breaker[b"state"], breaker[b"period"]) == (b"open", b"400")
        skipped = await edge.post(CHAT, json=chat("still open", model=model), headers=auth())
    assert skipped.status_code == 503
    assert skipped.json()["error"]["code"] == "no_target_available"
    assert await fake.calls() == [("G", 503), ("G", 503)]  # the failed probe was not retried


async def test_only_one_probe_goes_out_while_it_runs(redis: Redis, fake: Fake, base: str) -> None:
    model = "groq/llama-3.1-8b-instant"
    config = snapshot(base, connections=("G",), resilience={"breakerFailureThreshold": 1, "breakerResetMs": 200})
    await fake.script({"status": 500}, key=KEY_G, times=1)
    async with edge_for(redis, config) as edge:
        await _open_and_due(redis, edge, model)
        await fake.script({"delay_ms": 600}, key=KEY_G, times=1)
        probe, meanwhile = await post_concurrently(
            edge, CHAT, [(chat("slow probe", model=model), auth()), (chat("during the probe", model=model), auth())]
        )
    assert probe.status_code == 200
    assert meanwhile.status_code == 503, meanwhile.text
    assert "skipped (breaker_open" in meanwhile.json()["error"]["message"]
    assert int(meanwhile.headers["retry-after"]) >= 1
    assert await fake.calls() == [("G", 500), ("G", 200)]


async def test_the_request_deadline_bounds_every_attempt(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"delay_ms": 1000}, key=KEY_A)
    config = snapshot(base, resilience={"firstByteTimeoutMs": 1500, "requestDeadlineMs": 400})
    async with edge_for(redis, config) as edge:
        started = time.monotonic()
        response = await edge.post(CHAT, json=chat("too slow for the deadline"), headers=auth())
        elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    error = error_of(response)
    assert error["code"] == "deadline_exceeded"
    assert "1) openai/gpt-4o-mini via 'alpha': 504 upstream_first_byte_timeout" in str(error["message"])
    assert response.headers["x-omniroute-fallback-attempts"] == "1"
    assert elapsed < 1.2
    assert await fake.calls() == []  # A's request is still sleeping in the fake
    await fake.wait_for_calls([("A", 200)])  # and B was never tried
