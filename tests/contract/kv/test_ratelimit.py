"""GCRA limiter contract: the same scenarios against the twin and real Redis."""

from __future__ import annotations

import asyncio

import pytest

from shared.kv import keys
from shared.kv.batch import MemoryBatch, MemoryStore
from shared.kv.ratelimit import Rate, RateLimiter, admitted
from tests.contract.kv.conftest import KvEnv

RATE = Rate(5, 500)  # emission interval 100 ms, burst 5
K = "key-1:rpm"


async def test_a_fresh_key_admits_exactly_limit_then_one_per_interval(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    for left in (4, 3, 2, 1, 0):
        decision = (await kv.run(lambda b: limiter.consume(b, [(K, RATE, 1)])))[0]
        assert (decision.allowed, decision.limit, decision.remaining, decision.retry_after_ms) == (True, 5, left, 0)
        assert kv.near(decision.reset_ms, (5 - left) * 100)
    denied = (await kv.run(lambda b: limiter.consume(b, [(K, RATE, 1)])))[0]
    assert (denied.allowed, denied.remaining) == (False, 0)
    assert kv.near(denied.retry_after_ms, 100) and kv.near(denied.reset_ms, 500)


async def test_a_concurrent_burst_admits_exactly_limit(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    decisions = await asyncio.gather(*(kv.run(lambda b: limiter.consume(b, [(K, RATE, 1)])) for _ in range(40)))
    assert sum(d[0].allowed for d in decisions) == RATE.limit


async def test_refill_admits_at_retry_after_and_not_before(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    # On real Redis time passes for real: a 1 s emission interval and a 300 ms margin keep the
    # "not before" and "at" checks true on a loaded machine; the twin checks the exact edges.
    rate, early, slack = (Rate(5, 5000), 300, 150) if kv.redis is not None else (RATE, 1, 0)
    interval = rate.period_ms // rate.limit
    await kv.run(lambda b: limiter.consume(b, [(K, rate, 5)]))
    for _ in range(2):
        denied = (await kv.run(lambda b: limiter.consume(b, [(K, rate, 1)])))[0]
        assert not denied.allowed and interval - slack <= denied.retry_after_ms <= interval
        await kv.advance(denied.retry_after_ms - early)
        assert not (await kv.run(lambda b: limiter.consume(b, [(K, rate, 1)])))[0].allowed
        await kv.advance(early + (2 if kv.redis is not None else 0))
        again = (await kv.run(lambda b: limiter.consume(b, [(K, rate, 1)])))[0]
        assert again.allowed and again.remaining == 0


async def test_retry_after_covers_the_whole_cost(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    await kv.run(lambda b: limiter.consume(b, [(K, RATE, 5)]))
    await kv.advance(100)
    denied = (await kv.run(lambda b: limiter.consume(b, [(K, RATE, 3)])))[0]
    assert not denied.allowed and denied.remaining == 1
    assert kv.near(denied.retry_after_ms, 200, below=False)
    await kv.advance(denied.retry_after_ms + (2 if kv.redis is not None else 0))
    assert (await kv.run(lambda b: limiter.consume(b, [(K, RATE, 3)])))[0].allowed


async def test_a_cost_above_the_limit_is_refused_outright_and_consumes_nothing(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    decision = (await kv.run(lambda b: limiter.consume(b, [(K, RATE, 6)])))[0]
    assert (decision.allowed, decision.retry_after_ms, decision.remaining, decision.reset_ms) == (False, -1, 5, 0)
    assert not await kv.exists(keys.ratelimit(K))


async def test_several_limits_are_consumed_all_or_nothing(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    # Minute-long windows: a token comes back every 600 ms, so a loaded machine's pauses between
    # the calls never refill one and the exact remainders hold on real Redis too.
    rpm, tpm = Rate(3, 60_000), Rate(100, 60_000)
    first = await kv.run(lambda b: limiter.consume(b, [("k:rpm", rpm, 1), ("k:tpm", tpm, 90)]))
    assert admitted(first) and [d.remaining for d in first] == [2, 10]
    second = await kv.run(lambda b: limiter.consume(b, [("k:rpm", rpm, 1), ("k:tpm", tpm, 20)]))
    assert not admitted(second)
    assert second[0].allowed and second[0].retry_after_ms == 0  # would pass alone
    assert not second[1].allowed and kv.near(second[1].retry_after_ms, 6_000)
    assert (await kv.run(lambda b: limiter.peek(b, "k:rpm", rpm))).remaining == 2  # nothing consumed
    assert (await kv.run(lambda b: limiter.peek(b, "k:tpm", tpm))).remaining == 10
    third = await kv.run(lambda b: limiter.consume(b, [("k:rpm", rpm, 1), ("k:tpm", tpm, 10)]))
    assert admitted(third) and [d.remaining for d in third] == [1, 0]


async def test_peek_consumes_nothing(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    for _ in range(3):
        decision = await kv.run(lambda b: limiter.peek(b, K, RATE))
        assert (decision.allowed, decision.remaining, decision.reset_ms, decision.retry_after_ms) == (True, 5, 0, 0)
    assert not await kv.exists(keys.ratelimit(K))
    assert (await kv.run(lambda b: limiter.consume(b, [(K, RATE, 1)])))[0].remaining == 4
    await kv.run(lambda b: limiter.consume(b, [(K, RATE, 4)]))
    full = await kv.run(lambda b: limiter.peek(b, K, RATE))
    assert (full.allowed, full.remaining) == (False, 0) and kv.near(full.retry_after_ms, 100)


async def test_charge_moves_past_the_burst_so_later_requests_wait(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    tokens = Rate(10, 500)  # 50 ms per token
    await kv.run(lambda b: limiter.charge(b, K, tokens, 15))
    decision = await kv.run(lambda b: limiter.peek(b, K, tokens))
    assert (decision.allowed, decision.remaining) == (False, 0)
    assert kv.near(decision.retry_after_ms, 300) and kv.near(decision.reset_ms, 750)
    assert kv.near(await kv.ttl_ms(keys.ratelimit(K)), 750)
    assert not (await kv.run(lambda b: limiter.consume(b, [(K, tokens, 1)])))[0].allowed


async def test_a_negative_charge_refunds_but_never_before_now(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    tokens = Rate(10, 500)
    await kv.run(lambda b: limiter.consume(b, [(K, tokens, 10)]))
    await kv.run(lambda b: limiter.charge(b, K, tokens, -5))
    decision = await kv.run(lambda b: limiter.peek(b, K, tokens))
    assert decision.allowed and decision.remaining == 5 and kv.near(decision.reset_ms, 250)
    await kv.run(lambda b: limiter.charge(b, K, tokens, -100))
    assert not await kv.exists(keys.ratelimit(K))
    assert (await kv.run(lambda b: limiter.peek(b, K, tokens))).remaining == 10


async def test_the_key_expires_when_its_tat_passes(kv: KvEnv) -> None:
    limiter = RateLimiter(kv.redis)
    await kv.run(lambda b: limiter.consume(b, [(K, RATE, 2)]))
    assert kv.near(await kv.ttl_ms(keys.ratelimit(K)), 200)
    await kv.advance(210)
    assert not await kv.exists(keys.ratelimit(K))
    assert (await kv.run(lambda b: limiter.consume(b, [(K, RATE, 5)])))[0].allowed


@pytest.mark.parametrize(("limit", "period_ms"), [(7, 300), (3, 100), (1000, 400)])
async def test_burst_is_exact_for_awkward_intervals(kv: KvEnv, limit: int, period_ms: int) -> None:
    limiter = RateLimiter(kv.redis)
    rate = Rate(limit, period_ms)
    if kv.redis is None:  # many single steps accumulate rounding: the slack must cover it
        results = [(await kv.run(lambda b: limiter.consume(b, [(K, rate, 1)])))[0].allowed for _ in range(limit + 1)]
        assert results == [True] * limit + [False]
    else:  # one pipeline: the server runs both back to back, well within one interval
        batch = kv.batch()
        burst, extra = limiter.consume(batch, [(K, rate, limit)]), limiter.consume(batch, [(K, rate, 1)])
        await batch.run()
        assert burst.value[0].allowed and not extra.value[0].allowed


def test_a_rate_needs_a_positive_limit_and_period() -> None:
    with pytest.raises(ValueError, match="limit"):
        Rate(0, 1000)
    with pytest.raises(ValueError, match="limit"):
        Rate(10, 0)


def test_a_consumed_cost_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        RateLimiter(None).consume(MemoryBatch(MemoryStore()), [("k", RATE, -1)])
