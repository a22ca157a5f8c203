"""Lease contract: the same scenarios against the twin and real Redis, then `hold` under contention."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from shared.kv.lock import Lease, LeaseTimeout
from tests.contract.kv.conftest import KvEnv

KEY = "omni:test:lease"


async def test_one_owner_at_a_time_and_the_others_learn_the_remaining_lease(kv: KvEnv) -> None:
    lease = Lease(kv.redis)
    assert await kv.run(lambda b: lease.acquire(b, KEY, "a", 300)) == 0
    remaining = await kv.run(lambda b: lease.acquire(b, KEY, "b", 300))
    assert kv.near(remaining, 300)
    assert await kv.run(lambda b: lease.holder(b, KEY)) == "a"


async def test_the_owner_renews_its_lease(kv: KvEnv) -> None:
    lease = Lease(kv.redis)
    await kv.run(lambda b: lease.acquire(b, KEY, "a", 100))
    await kv.advance(60)
    assert await kv.run(lambda b: lease.acquire(b, KEY, "a", 300)) == 0
    assert kv.near(await kv.ttl_ms(KEY), 300)


async def test_a_lapsed_lease_goes_to_the_next_caller(kv: KvEnv) -> None:
    lease = Lease(kv.redis)
    await kv.run(lambda b: lease.acquire(b, KEY, "a", 100))
    await kv.advance(120)
    assert await kv.run(lambda b: lease.acquire(b, KEY, "b", 300)) == 0
    assert await kv.run(lambda b: lease.holder(b, KEY)) == "b"
    assert await kv.run(lambda b: lease.release(b, KEY, "a")) is False  # the straggler cannot free b's lease
    assert await kv.run(lambda b: lease.holder(b, KEY)) == "b"


async def test_only_the_owner_releases(kv: KvEnv) -> None:
    lease = Lease(kv.redis)
    await kv.run(lambda b: lease.acquire(b, KEY, "a", 300))
    assert await kv.run(lambda b: lease.release(b, KEY, "b")) is False
    assert await kv.run(lambda b: lease.release(b, KEY, "a")) is True
    assert not await kv.exists(KEY)
    assert await kv.run(lambda b: lease.acquire(b, KEY, "b", 300)) == 0


async def test_hold_serialises_concurrent_holders(real_redis: Redis) -> None:
    lease = Lease(real_redis)
    inside = 0
    most = 0
    order: list[int] = []

    async def worker(n: int) -> None:
        nonlocal inside, most
        async with lease.hold(KEY, lease_ms=2_000, wait_ms=5_000):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            order.append(n)
            inside -= 1

    await asyncio.gather(*(worker(n) for n in range(8)))
    assert most == 1
    assert sorted(order) == list(range(8))
    assert not await real_redis.exists(KEY)


async def test_hold_gives_up_after_wait_ms_and_takes_over_a_dead_holders_lease(real_redis: Redis) -> None:
    lease = Lease(real_redis)
    await real_redis.set(KEY, "dead-replica", px=300)
    with pytest.raises(LeaseTimeout):
        async with lease.hold(KEY, lease_ms=1_000, wait_ms=100):
            pass
    async with lease.hold(KEY, lease_ms=1_000, wait_ms=1_000) as owner:
        assert (await real_redis.get(KEY)).decode() == owner
