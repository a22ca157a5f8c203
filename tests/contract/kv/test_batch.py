"""One admission, many primitives, one round trip (ARCHITECTURE.md decision 4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ResponseError

from shared.kv.batch import MemoryBatch, MemoryStore, RedisBatch, Slot
from shared.kv.breaker import Breaker, BreakerPolicy
from shared.kv.concurrency import Semaphore
from shared.kv.cooldown import Cooldown, CooldownPolicy
from shared.kv.idempotency import Idempotency
from shared.kv.ratelimit import Rate, RateLimiter, admitted
from shared.kv.sessions import Sessions
from tests.support.redis_server import PrivateRedis


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What goes over the socket: one entry per write, i.e. per round trip."""
    sent: list[bytes] = []
    original = Connection.send_packed_command

    async def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        sent.append(bytes(command) if isinstance(command, bytes | str) else b"".join(bytes(c) for c in command))
        await original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    return sent


class Fleet:
    def __init__(self, redis: Redis) -> None:
        self.breaker, self.cooldown, self.limiter = Breaker(redis), Cooldown(redis), RateLimiter(redis)
        self.sem, self.idem, self.sessions = Semaphore(redis), Idempotency(redis), Sessions(redis)

    def admission(self, batch: RedisBatch, request: str) -> list[Slot[Any]]:
        return [
            self.idem.claim(batch, "k\x00" + request, "fp", "edge-a", 5_000),
            self.limiter.consume(batch, [("k:rpm", Rate(10, 60_000), 1), ("k:tpm", Rate(1_000, 60_000), 100)]),
            self.breaker.acquire(batch, "openai", BreakerPolicy()),
            self.cooldown.remaining(batch, ["c1", "c2"]),
            self.sessions.get(batch, "k:conv", 60_000),
            self.sem.acquire(batch, "c1", 4, request, 60_000),
        ]

    def settlement(self, batch: RedisBatch, request: str) -> list[Slot[Any]]:
        return [
            self.breaker.succeed(batch, "openai", probe=False),
            self.cooldown.cool(batch, "c9", CooldownPolicy(), 1_000),
            self.limiter.charge(batch, "k:tpm", Rate(1_000, 60_000), -50),
            self.sem.release(batch, "c1", request),
            self.sessions.pin(batch, "k:conv", "c2", 60_000),
        ]


async def test_every_primitive_in_one_batch_is_one_round_trip(real_redis: Redis, sends: list[bytes]) -> None:
    fleet, calls = Fleet(real_redis), []
    for request in ("warm-up", "r1", "r2"):  # the first batches may load the scripts
        sends.clear()
        calls.clear()
        batch = RedisBatch(real_redis, lambda: calls.append(1))
        claim, limits, view, cooling, pinned, held = fleet.admission(batch, request)
        await batch.run()
        assert claim.value.outcome == "claimed" and admitted(limits.value) and view.value.allowed
        assert cooling.value == {} and held.value
        assert pinned.value in (None, "c2")
        admission_sends = list(sends)
        batch = RedisBatch(real_redis, lambda: calls.append(1))
        fleet.settlement(batch, request)
        await batch.run()
    assert len(admission_sends) == 1 and b"SCRIPT" not in admission_sends[0]  # no SCRIPT EXISTS first
    assert len(sends) == 2 and len(calls) == 2  # admission + settlement, as the round-trip metric counts them


@pytest.fixture
async def private_redis() -> AsyncIterator[Redis]:
    """A redis-server of our own: SCRIPT FLUSH must not disturb anyone else's."""
    server = PrivateRedis()
    server.start()
    client = Redis.from_url(server.url)
    try:
        yield client
    finally:
        await client.aclose()
        server.stop()


async def test_a_lost_script_cache_is_reloaded_and_nothing_runs_twice(private_redis: Redis, sends: list[bytes]) -> None:
    real_redis, calls = private_redis, []
    breaker, cooldown, sessions = Breaker(real_redis), Cooldown(real_redis), Sessions(real_redis)
    policy = BreakerPolicy(failure_threshold=10)
    batch = RedisBatch(real_redis)
    breaker.fail(batch, "openai", policy, probe=False)
    await batch.run()
    await real_redis.script_flush()  # as after a Redis restart
    sends.clear()

    batch = RedisBatch(real_redis, lambda: calls.append(1))
    failed = breaker.fail(batch, "openai", policy, probe=False)
    pinned = sessions.pin(batch, "s", "c1", 60_000)
    cooled = cooldown.cool(batch, "c1", CooldownPolicy(base_ms=1_000), None)
    escalated = cooldown.cool(batch, "c1", CooldownPolicy(base_ms=1_000), None)
    await batch.run()
    assert failed.value.failures == 2  # counted once although sent twice
    assert pinned.value is None and (cooled.value, escalated.value) == (1_000, 2_000)
    assert await real_redis.get("omni:cooldown:{c1}:level") == b"2"
    assert len(calls) == 2  # the batch, then the reload and resend
    assert sends[0].count(b"EVALSHA") == 3 and any(b"SCRIPT" in sent for sent in sends[1:])

    sends.clear()
    batch = RedisBatch(real_redis, lambda: calls.append(1))
    again = breaker.fail(batch, "openai", policy, probe=False)
    await batch.run()
    assert again.value.failures == 3 and len(sends) == 1 and len(calls) == 3


async def test_a_script_error_still_fails_the_batch(real_redis: Redis) -> None:
    await real_redis.set("omni:breaker:{broken}", "not a hash")
    batch = RedisBatch(real_redis)
    Breaker(real_redis).acquire(batch, "broken", BreakerPolicy())
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await batch.run()


async def test_an_empty_batch_costs_nothing(real_redis: Redis) -> None:
    calls: list[int] = []
    batch = RedisBatch(real_redis, lambda: calls.append(1))
    empty_limits = RateLimiter(real_redis).consume(batch, [])
    empty_cooling = Cooldown(real_redis).remaining(batch, [])
    await batch.run()
    assert calls == [] and empty_limits.value == [] and empty_cooling.value == {}


def test_twin_only_primitives_run_on_a_memory_batch() -> None:
    batch = MemoryBatch(MemoryStore())
    assert Breaker(None).acquire(batch, "openai", BreakerPolicy()).value.allowed
    assert RateLimiter(None).consume(batch, [("k", Rate(1, 1_000), 1)]).value[0].allowed
