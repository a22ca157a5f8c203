"""Lease-based semaphore contract: the same scenarios against the twin and real Redis."""

from __future__ import annotations

import asyncio

from shared.kv import keys
from shared.kv.concurrency import Semaphore
from tests.contract.kv.conftest import KvEnv

K = "conn-1"


async def test_the_limit_holds_and_a_release_frees_a_place(kv: KvEnv) -> None:
    sem = Semaphore(kv.redis)
    assert await kv.run(lambda b: sem.acquire(b, K, 2, "h1", 5_000))
    assert await kv.run(lambda b: sem.acquire(b, K, 2, "h2", 5_000))
    assert not await kv.run(lambda b: sem.acquire(b, K, 2, "h3", 5_000))
    assert await kv.run(lambda b: sem.count(b, K)) == 2
    assert await kv.run(lambda b: sem.release(b, K, "h1"))
    assert not await kv.run(lambda b: sem.release(b, K, "h1"))
    assert await kv.run(lambda b: sem.count(b, K)) == 1
    assert await kv.run(lambda b: sem.acquire(b, K, 2, "h3", 5_000))
    assert await kv.run(lambda b: sem.count(b, K)) == 2


async def test_acquiring_again_renews_and_counts_once(kv: KvEnv) -> None:
    sem = Semaphore(kv.redis)
    assert await kv.run(lambda b: sem.acquire(b, K, 1, "h1", 150))
    await kv.advance(100)
    assert await kv.run(lambda b: sem.acquire(b, K, 1, "h1", 150))  # full, but h1 already holds it
    assert await kv.run(lambda b: sem.count(b, K)) == 1
    await kv.advance(100)  # past the first lease, within the renewed one
    assert await kv.run(lambda b: sem.count(b, K)) == 1
    assert not await kv.run(lambda b: sem.acquire(b, K, 1, "h2", 150))


async def test_expired_leases_stop_counting_and_are_purged(kv: KvEnv) -> None:
    sem = Semaphore(kv.redis)
    assert await kv.run(lambda b: sem.acquire(b, K, 2, "dead-1", 100))
    assert await kv.run(lambda b: sem.acquire(b, K, 2, "alive", 300))
    assert not await kv.run(lambda b: sem.acquire(b, K, 2, "new", 300))
    await kv.advance(120)
    assert await kv.run(lambda b: sem.count(b, K)) == 1
    assert await kv.run(lambda b: sem.acquire(b, K, 2, "new", 300))
    assert await kv.run(lambda b: sem.count(b, K)) == 2
    assert not await kv.run(lambda b: sem.release(b, K, "dead-1"))  # purged by the acquire


async def test_the_set_expires_with_its_last_lease(kv: KvEnv) -> None:
    sem = Semaphore(kv.redis)
    await kv.run(lambda b: sem.acquire(b, K, 3, "short", 100))
    await kv.run(lambda b: sem.acquire(b, K, 3, "long", 200))
    assert kv.near(await kv.ttl_ms(keys.semaphore(K)), 200)
    await kv.advance(210)
    assert not await kv.exists(keys.semaphore(K))
    assert await kv.run(lambda b: sem.count(b, K)) == 0


async def test_concurrent_acquires_never_exceed_the_limit(kv: KvEnv) -> None:
    sem = Semaphore(kv.redis)
    granted = await asyncio.gather(*(kv.run(lambda b, i=i: sem.acquire(b, K, 5, f"h{i}", 5_000)) for i in range(40)))
    assert sum(granted) == 5
    assert await kv.run(lambda b: sem.count(b, K)) == 5


async def test_keys_are_independent(kv: KvEnv) -> None:
    sem = Semaphore(kv.redis)
    assert await kv.run(lambda b: sem.acquire(b, "a", 1, "h1", 5_000))
    assert await kv.run(lambda b: sem.acquire(b, "b", 1, "h1", 5_000))
    assert await kv.run(lambda b: sem.count(b, "a")) == 1
