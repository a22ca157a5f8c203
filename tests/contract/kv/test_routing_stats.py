"""Routing statistics shared by the fleet: counters, use counts and recent latencies."""

from __future__ import annotations

from shared.kv import keys
from shared.kv.routing_stats import RoutingStats, p95
from tests.contract.kv.conftest import KvEnv


async def test_bump_counts_up_from_one(kv: KvEnv) -> None:
    stats = RoutingStats(kv.redis)
    assert [await kv.run(lambda b: stats.bump(b, "rr:combo-a")) for _ in range(3)] == [1, 2, 3]
    assert await kv.run(lambda b: stats.bump(b, "rr:combo-b")) == 1


async def test_counts_read_many_and_missing_is_zero(kv: KvEnv) -> None:
    stats = RoutingStats(kv.redis)
    await kv.run(lambda b: stats.bump(b, "uses:a"))
    await kv.run(lambda b: stats.bump(b, "uses:a"))
    await kv.run(lambda b: stats.bump(b, "uses:c"))
    assert await kv.run(lambda b: stats.counts(b, ["uses:a", "uses:b", "uses:c"])) == [2, 0, 1]


async def test_counters_and_latencies_expire_within_a_day(kv: KvEnv) -> None:
    stats = RoutingStats(kv.redis)
    await kv.run(lambda b: stats.bump(b, "uses:x"))
    await kv.run(lambda b: stats.record_latency(b, "t", 1.0))
    day = 24 * 3600 * 1000
    for key in (keys.routing_counter("uses:x"), keys.routing_latency("t")):
        assert 0 < await kv.ttl_ms(key) <= day


async def test_latencies_newest_first_and_bounded(kv: KvEnv) -> None:
    stats = RoutingStats(kv.redis)
    for ms in range(60):
        await kv.run(lambda b, ms=ms: stats.record_latency(b, "openai/gpt-4o", float(ms)))
    recorded = await kv.run(lambda b: stats.latencies(b, ["openai/gpt-4o", "anthropic/claude"]))
    assert recorded[1] == []
    assert len(recorded[0]) == 50
    assert recorded[0][0] == 59.0 and recorded[0][-1] == 10.0


async def test_one_batch_carries_writes_and_reads(kv: KvEnv) -> None:
    stats = RoutingStats(kv.redis)
    batch = kv.batch()
    bumped = stats.bump(batch, "uses:a")
    stats.record_latency(batch, "t", 12.5)
    latencies = stats.latencies(batch, ["t"])
    await batch.run()
    assert bumped.value == 1
    assert latencies.value == [[12.5]]


def test_p95() -> None:
    assert p95([]) is None
    assert p95([float(v) for v in range(1, 101)]) == 96.0
    assert p95([5.0]) == 5.0
