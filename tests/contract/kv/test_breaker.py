"""Circuit breaker contract: the same scenarios against the twin and real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import RedisBatch
from shared.kv.breaker import Breaker, BreakerPolicy, providers
from tests.contract.kv.conftest import KvEnv

POLICY = BreakerPolicy(failure_threshold=3, reset_ms=200, max_reset_ms=500, probe_ms=150)
P = "openai"


async def trip(kv: KvEnv, breaker: Breaker) -> None:
    for _ in range(POLICY.failure_threshold):
        await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=False))


async def test_closed_allows_and_a_success_without_failures_writes_nothing(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    view = await kv.run(lambda b: breaker.acquire(b, P, POLICY))
    assert (view.state, view.failures, view.allowed, view.probe) == ("closed", 0, True, False)
    await kv.run(lambda b: breaker.succeed(b, P, probe=False))
    assert not await kv.exists(keys.breaker(P))


async def test_failures_count_a_success_clears_them_and_the_threshold_opens(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    for expected in (1, 2):
        view = await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=False))
        assert (view.state, view.failures, view.allowed) == ("closed", expected, True)
    await kv.run(lambda b: breaker.succeed(b, P, probe=False))
    assert (await kv.run(lambda b: breaker.read(b, P))).failures == 0
    assert not await kv.exists(keys.breaker(P))
    for _ in range(2):
        await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=False))
    view = await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=False))
    assert (view.state, view.failures, view.retry_in_ms, view.allowed) == ("open", 3, 200, False)
    await kv.advance(50)
    view = await kv.run(lambda b: breaker.acquire(b, P, POLICY))
    assert view.state == "open" and not view.allowed and not view.probe
    assert kv.near(view.retry_in_ms, 150)


async def test_due_breaker_grants_exactly_one_probe(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    await trip(kv, breaker)
    await kv.advance(210)
    first = await kv.run(lambda b: breaker.acquire(b, P, POLICY))
    assert (first.state, first.probe, first.allowed, first.retry_in_ms) == ("half_open", True, True, 0)
    second = await kv.run(lambda b: breaker.acquire(b, P, POLICY))
    assert (second.state, second.probe, second.allowed) == ("half_open", False, False)
    assert kv.near(second.retry_in_ms, POLICY.probe_ms)


async def test_exactly_one_probe_among_50_concurrent_callers(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    await trip(kv, breaker)
    await kv.advance(210)
    views = await asyncio.gather(*(kv.run(lambda b: breaker.acquire(b, P, POLICY)) for _ in range(50)))
    assert sum(view.probe for view in views) == 1
    assert sum(view.allowed for view in views) == 1
    assert {view.state for view in views} == {"half_open"}


async def test_a_dead_probers_lease_lapses_and_the_next_caller_probes(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    await trip(kv, breaker)
    await kv.advance(210)
    assert (await kv.run(lambda b: breaker.acquire(b, P, POLICY))).probe
    await kv.advance(100)
    assert not (await kv.run(lambda b: breaker.acquire(b, P, POLICY))).probe
    await kv.advance(60)  # past probe_ms: the prober died without reporting
    takeover = await kv.run(lambda b: breaker.acquire(b, P, POLICY))
    assert (takeover.state, takeover.probe) == ("half_open", True)
    assert not (await kv.run(lambda b: breaker.acquire(b, P, POLICY))).probe


async def test_probe_failure_doubles_the_period_up_to_the_cap(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    await trip(kv, breaker)
    waited = 210
    for expected in (400, 500, 500):
        await kv.advance(waited)
        assert (await kv.run(lambda b: breaker.acquire(b, P, POLICY))).probe
        view = await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=True))
        assert (view.state, view.retry_in_ms, view.allowed) == ("open", expected, False)
        assert not await kv.exists(keys.breaker_probe(P))
        early = await kv.run(lambda b: breaker.acquire(b, P, POLICY))
        assert early.state == "open" and kv.near(early.retry_in_ms, expected)
        waited = expected + 10


async def test_probe_success_closes_and_restores_the_reset_period(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    await trip(kv, breaker)
    await kv.advance(210)
    assert (await kv.run(lambda b: breaker.acquire(b, P, POLICY))).probe
    await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=True))  # escalated to 400
    await kv.advance(410)
    assert (await kv.run(lambda b: breaker.acquire(b, P, POLICY))).probe
    await kv.run(lambda b: breaker.succeed(b, P, probe=True))
    view = await kv.run(lambda b: breaker.acquire(b, P, POLICY))
    assert (view.state, view.failures, view.allowed) == ("closed", 0, True)
    await trip(kv, breaker)
    reopened = await kv.run(lambda b: breaker.read(b, P))
    assert reopened.state == "open" and kv.near(reopened.retry_in_ms, POLICY.reset_ms)


async def test_outcomes_of_requests_admitted_before_opening_change_nothing(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    await trip(kv, breaker)
    await kv.run(lambda b: breaker.succeed(b, P, probe=False))
    view = await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=False))
    assert (view.state, view.failures) == ("open", 3)
    await kv.advance(210)
    assert (await kv.run(lambda b: breaker.acquire(b, P, POLICY))).probe
    await kv.run(lambda b: breaker.succeed(b, P, probe=False))
    await kv.run(lambda b: breaker.fail(b, P, POLICY, probe=False))
    assert (await kv.run(lambda b: breaker.read(b, P))).state == "half_open"


async def test_read_makes_no_transition_and_reset_closes(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    assert (await kv.run(lambda b: breaker.read(b, P))).state == "closed"
    await trip(kv, breaker)
    await kv.advance(210)
    view = await kv.run(lambda b: breaker.read(b, P))
    assert (view.state, view.retry_in_ms, view.probe) == ("open", 0, False)
    assert (await kv.run(lambda b: breaker.read(b, P))).state == "open"
    await kv.run(lambda b: breaker.reset(b, P))
    view = await kv.run(lambda b: breaker.read(b, P))
    assert (view.state, view.failures) == ("closed", 0)
    assert not await kv.exists(keys.breaker(P))


async def test_providers_are_independent(kv: KvEnv) -> None:
    breaker = Breaker(kv.redis)
    await trip(kv, breaker)
    other = await kv.run(lambda b: breaker.acquire(b, "anthropic", POLICY))
    assert other.state == "closed" and other.allowed


async def test_providers_lists_every_provider_with_state(real_redis: Redis) -> None:
    breaker = Breaker(real_redis)
    quick = BreakerPolicy(failure_threshold=1, reset_ms=1, max_reset_ms=10, probe_ms=1_000)
    batch = RedisBatch(real_redis)
    breaker.fail(batch, "openai", POLICY, probe=False)
    breaker.fail(batch, "gemini", quick, probe=False)
    await batch.run()
    await asyncio.sleep(0.01)
    batch = RedisBatch(real_redis)
    probe = breaker.acquire(batch, "gemini", quick)
    await batch.run()
    assert probe.value.probe and await real_redis.exists(keys.breaker_probe("gemini"))
    assert await providers(real_redis) == ["gemini", "openai"]


@pytest.mark.parametrize("threshold", [1, 2])
async def test_threshold_is_the_policys(kv: KvEnv, threshold: int) -> None:
    breaker = Breaker(kv.redis)
    policy = BreakerPolicy(failure_threshold=threshold, reset_ms=200, max_reset_ms=500, probe_ms=150)
    views = [await kv.run(lambda b: breaker.fail(b, P, policy, probe=False)) for _ in range(threshold)]
    assert [view.state for view in views] == ["closed"] * (threshold - 1) + ["open"]
