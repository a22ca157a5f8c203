"""Session affinity contract: the same scenarios against the twin and real Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from shared.kv.batch import RedisBatch
from shared.kv.sessions import Sessions, list_sessions
from tests.contract.kv.conftest import KvEnv

S = "key-1:conv-9"


async def test_a_pin_is_read_back_and_forgotten(kv: KvEnv) -> None:
    sessions = Sessions(kv.redis)
    assert await kv.run(lambda b: sessions.get(b, S, 5_000)) is None
    await kv.run(lambda b: sessions.pin(b, S, "conn-1", 5_000))
    assert await kv.run(lambda b: sessions.get(b, S, 5_000)) == "conn-1"
    await kv.run(lambda b: sessions.pin(b, S, "conn-2", 5_000))
    assert await kv.run(lambda b: sessions.get(b, S, 5_000)) == "conn-2"
    await kv.run(lambda b: sessions.forget(b, S))
    assert await kv.run(lambda b: sessions.get(b, S, 5_000)) is None


async def test_reads_slide_the_ttl_and_idle_sessions_expire(kv: KvEnv) -> None:
    sessions = Sessions(kv.redis)
    await kv.run(lambda b: sessions.pin(b, S, "conn-1", 200))
    for _ in range(3):
        await kv.advance(120)
        assert await kv.run(lambda b: sessions.get(b, S, 200)) == "conn-1"
    await kv.advance(220)
    assert await kv.run(lambda b: sessions.get(b, S, 200)) is None


async def test_a_miss_creates_nothing(kv: KvEnv) -> None:
    sessions = Sessions(kv.redis)
    await kv.run(lambda b: sessions.get(b, S, 200))
    assert not await kv.exists("omni:session:" + S)


async def test_list_sessions_shows_pins_with_ttl(real_redis: Redis) -> None:
    sessions = Sessions(real_redis)
    batch = RedisBatch(real_redis)
    for i in range(5):
        sessions.pin(batch, f"s{i}", f"conn-{i}", 10_000)
    await batch.run()
    views = await list_sessions(real_redis, 100)
    assert sorted((v.session, v.connection_id) for v in views) == [(f"s{i}", f"conn-{i}") for i in range(5)]
    assert all(9_000 < v.ttl_ms <= 10_000 for v in views)
    assert len(await list_sessions(real_redis, 2)) == 2
