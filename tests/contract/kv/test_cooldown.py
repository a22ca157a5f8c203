"""Cooldown contract: the same scenarios against the twin and real Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import RedisBatch
from shared.kv.cooldown import Cooldown, CooldownPolicy, read_all
from tests.contract.kv.conftest import KvEnv

POLICY = CooldownPolicy(base_ms=50, max_ms=150, level_ttl_ms=300)
C = "conn-1"


async def test_without_a_hint_the_cooldown_doubles_per_level_up_to_the_cap(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    applied = []
    for _ in range(4):
        applied.append(await kv.run(lambda b: cooldown.cool(b, C, POLICY, None)))
        remaining = await kv.run(lambda b: cooldown.remaining(b, [C]))
        assert kv.near(remaining[C], applied[-1])
        await kv.advance(applied[-1] + 10)
        assert await kv.run(lambda b: cooldown.remaining(b, [C])) == {}
    assert applied == [50, 100, 150, 150]


async def test_a_retry_after_hint_is_honoured_exactly_and_leaves_the_level_alone(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, 237)) == 237
    assert kv.near((await kv.run(lambda b: cooldown.remaining(b, [C])))[C], 237)
    assert not await kv.exists(keys.cooldown_level(C))
    await kv.advance(247)
    assert await kv.run(lambda b: cooldown.remaining(b, [C])) == {}
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, None)) == POLICY.base_ms


async def test_a_hint_is_capped_at_a_day(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, 3 * 24 * 3600 * 1000)) == keys.MAX_RETRY_AFTER_MS
    assert kv.near(await kv.ttl_ms(keys.cooldown(C)), keys.MAX_RETRY_AFTER_MS)


async def test_a_cooldown_never_shortens_the_one_in_force(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    await kv.run(lambda b: cooldown.cool(b, C, POLICY, 400))
    shorter = await kv.run(lambda b: cooldown.cool(b, C, POLICY, 100))
    assert kv.near(shorter, 400)
    assert kv.near(await kv.ttl_ms(keys.cooldown(C)), 400)
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, 0)) > 0


async def test_remaining_reports_only_cooling_connections(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    await kv.run(lambda b: cooldown.cool(b, "a", POLICY, 100))
    await kv.run(lambda b: cooldown.cool(b, "c", POLICY, 300))
    remaining = await kv.run(lambda b: cooldown.remaining(b, ["a", "b", "c"]))
    assert set(remaining) == {"a", "c"}
    assert kv.near(remaining["a"], 100) and kv.near(remaining["c"], 300)
    await kv.advance(150)
    remaining = await kv.run(lambda b: cooldown.remaining(b, ["a", "b", "c"]))
    assert set(remaining) == {"c"} and kv.near(remaining["c"], 150)
    assert await kv.run(lambda b: cooldown.remaining(b, [])) == {}


async def test_clear_after_a_success_restarts_the_escalation(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, None)) == 50
    await kv.advance(60)
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, None)) == 100
    await kv.advance(110)
    await kv.run(lambda b: cooldown.clear(b, C))
    assert not await kv.exists(keys.cooldown_level(C))
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, None)) == 50


async def test_clear_leaves_a_running_cooldown_in_force(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    await kv.run(lambda b: cooldown.cool(b, C, POLICY, 200))
    await kv.run(lambda b: cooldown.clear(b, C))
    assert C in await kv.run(lambda b: cooldown.remaining(b, [C]))


async def test_the_level_is_forgotten_after_level_ttl(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, None)) == 50
    assert kv.near(await kv.ttl_ms(keys.cooldown_level(C)), POLICY.level_ttl_ms)
    await kv.advance(POLICY.level_ttl_ms + 10)
    assert await kv.run(lambda b: cooldown.cool(b, C, POLICY, None)) == 50


async def test_connections_are_independent(kv: KvEnv) -> None:
    cooldown = Cooldown(kv.redis)
    await kv.run(lambda b: cooldown.cool(b, "a", POLICY, None))
    await kv.run(lambda b: cooldown.cool(b, "a", POLICY, None))
    assert await kv.run(lambda b: cooldown.cool(b, "b", POLICY, None)) == 50


async def test_read_all_lists_cooling_and_escalated_connections(real_redis: Redis) -> None:
    cooldown = Cooldown(real_redis)
    batch = RedisBatch(real_redis)
    cooldown.cool(batch, "hinted", POLICY, 5_000)
    cooldown.cool(batch, "escalated", POLICY, None)
    cooldown.cool(batch, "escalated", POLICY, None)
    await batch.run()
    views = {view.connection_id: view for view in await read_all(real_redis)}
    assert set(views) == {"hinted", "escalated"}
    assert views["hinted"].level == 0 and 4_900 < views["hinted"].remaining_ms <= 5_000
    assert views["escalated"].level == 2 and 50 < views["escalated"].remaining_ms <= 100
