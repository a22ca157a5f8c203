"""Login brute-force guard contract: the same scenarios against the twin and real Redis."""

from __future__ import annotations

import asyncio

from shared.kv import keys
from shared.kv.batch import RedisBatch
from shared.kv.login_guard import LoginGuard, LoginPolicy
from tests.contract.kv.conftest import KvEnv

POLICY = LoginPolicy(max_attempts=3, window_ms=300)
IP = "203.0.113.7"


async def test_the_attempt_after_the_limit_is_refused_until_the_oldest_leaves_the_window(kv: KvEnv) -> None:
    guard = LoginGuard(kv.redis)
    for n in range(3):
        assert await kv.run(lambda b, n=n: guard.attempt(b, IP, f"a{n}", POLICY)) == 0
        await kv.advance(50)
    wait = await kv.run(lambda b: guard.attempt(b, IP, "a3", POLICY))
    assert kv.near(wait, 150)  # the first attempt (150 ms ago) frees its place 300 ms after it was made
    await kv.advance(wait + 10)
    assert await kv.run(lambda b: guard.attempt(b, IP, "a4", POLICY)) == 0
    assert await kv.run(lambda b: guard.attempt(b, IP, "a5", POLICY)) > 0


async def test_refused_attempts_do_not_extend_the_lockout(kv: KvEnv) -> None:
    guard = LoginGuard(kv.redis)
    for n in range(3):
        await kv.run(lambda b, n=n: guard.attempt(b, IP, f"a{n}", POLICY))
    for n in range(5):
        assert await kv.run(lambda b, n=n: guard.attempt(b, IP, f"r{n}", POLICY)) > 0
    await kv.advance(310)
    assert await kv.run(lambda b: guard.attempt(b, IP, "later", POLICY)) == 0


async def test_forgiving_a_success_returns_only_its_own_attempt(kv: KvEnv) -> None:
    guard = LoginGuard(kv.redis)
    await kv.run(lambda b: guard.attempt(b, IP, "bad-1", POLICY))
    await kv.run(lambda b: guard.attempt(b, IP, "bad-2", POLICY))
    await kv.run(lambda b: guard.attempt(b, IP, "good", POLICY))
    await kv.run(lambda b: guard.forgive(b, IP, "good"))
    await kv.run(lambda b: guard.forgive(b, IP, "never-taken"))
    assert await kv.run(lambda b: guard.attempt(b, IP, "bad-3", POLICY)) == 0
    assert await kv.run(lambda b: guard.attempt(b, IP, "bad-4", POLICY)) > 0


async def test_addresses_are_counted_separately_and_the_key_expires_with_the_window(kv: KvEnv) -> None:
    guard = LoginGuard(kv.redis)
    for n in range(3):
        await kv.run(lambda b, n=n: guard.attempt(b, IP, f"a{n}", POLICY))
    assert await kv.run(lambda b: guard.attempt(b, IP, "x", POLICY)) > 0
    assert await kv.run(lambda b: guard.attempt(b, "198.51.100.1", "y", POLICY)) == 0
    assert kv.near(await kv.ttl_ms(keys.login_attempts(IP)), POLICY.window_ms)
    await kv.advance(POLICY.window_ms + 10)
    assert not await kv.exists(keys.login_attempts(IP))


async def test_concurrent_attempts_on_redis_never_exceed_the_limit(kv: KvEnv) -> None:
    if kv.redis is None:
        return
    guard = LoginGuard(kv.redis)
    redis = kv.redis

    async def one(n: int) -> int:
        batch = RedisBatch(redis)
        slot = guard.attempt(batch, IP, f"c{n}", LoginPolicy(max_attempts=5, window_ms=10_000))
        await batch.run()
        return slot.value

    answers = await asyncio.gather(*(one(n) for n in range(40)))
    assert sum(1 for a in answers if a == 0) == 5
