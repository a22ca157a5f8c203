"""The usage stream into Postgres: exactly-once rows from at-least-once delivery, on real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
from redis.asyncio import Redis

from services.workers.usage_ingest import UsageIngestor
from shared.kv import keys
from shared.kv.usage_stream import UsageEvent, UsageStream


def events(count: int, prefix: str) -> list[UsageEvent]:
    key = str(uuid.uuid4())
    return [
        UsageEvent(
            request_id=f"{prefix}-{i}",
            ts=time.time(),
            endpoint="chat.completions",
            status=200,
            api_key_id=key,
            tokens_in=3,
            tokens_out=i,
        )
        for i in range(count)
    ]


async def row_count(pool: asyncpg.Pool, prefix: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM usage_events WHERE request_id LIKE $1", prefix + "-%"))


async def drain(ingestor: UsageIngestor) -> None:
    while await ingestor.run_once(block_ms=50):
        pass


async def test_each_event_lands_once_even_when_delivered_twice(
    pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    stream = UsageStream(redis)
    batch = events(25, "dup")
    await stream.append(batch)
    await stream.append(batch[:10])  # an edge retried an append it thought had failed
    ingestor = UsageIngestor(pool, redis, "worker-a", batch_size=7)
    await ingestor._ensure_group()
    await drain(ingestor)
    assert await row_count(pool, "dup") == 25
    assert await redis.xlen(keys.USAGE_STREAM) == 0  # acknowledged entries are deleted
    row = await pool.fetchrow("SELECT * FROM usage_events WHERE request_id = 'dup-4'")
    assert row is not None and row["tokens_out"] == 4 and row["tokens_in"] == 3


async def test_a_crashed_consumers_entries_are_claimed_by_the_next(
    pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    stream = UsageStream(redis)
    await stream.ensure_group()
    await stream.append(events(12, "crash"))
    taken = await stream.read_new("worker-that-died", count=12, block_ms=10)  # read, never acknowledged
    assert len(taken) == 12
    survivor = UsageIngestor(pool, redis, "worker-b", claim_idle_ms=200)
    assert await survivor.run_once(block_ms=10) == 0  # not idle long enough yet
    await asyncio.sleep(0.25)
    await drain(survivor)
    assert await row_count(pool, "crash") == 12
    pending = await redis.xpending(keys.USAGE_STREAM, keys.USAGE_GROUP)
    assert pending["pending"] == 0


async def test_poison_entries_go_to_the_dead_letter_stream(pool: asyncpg.Pool, redis: Redis, clean_db: None) -> None:
    stream = UsageStream(redis)
    await stream.ensure_group()
    await redis.xadd(keys.USAGE_STREAM, {"e": b"{not json"})
    await stream.append(events(2, "ok"))
    ingestor = UsageIngestor(pool, redis, "worker-c")
    await drain(ingestor)
    assert await row_count(pool, "ok") == 2
    dead = await redis.xrange(keys.USAGE_DEAD_LETTERS)
    assert len(dead) == 1
    assert dead[0][1][b"raw"] == b"{not json"
    assert await redis.xlen(keys.USAGE_STREAM) == 0


async def test_a_lost_group_is_recreated(pool: asyncpg.Pool, redis: Redis, clean_db: None) -> None:
    ingestor = UsageIngestor(pool, redis, "worker-d")
    await ingestor._ensure_group()
    await redis.delete(keys.USAGE_STREAM)  # what a Redis restart without persistence looks like
    assert await ingestor.run_once(block_ms=10) == 0
    await UsageStream(redis).append(events(3, "after-restart"))
    await drain(ingestor)
    assert await row_count(pool, "after-restart") == 3


async def test_a_value_postgres_refuses_does_not_block_the_group(
    pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    stream = UsageStream(redis)
    await stream.ensure_group()
    good = events(4, "fine")
    bad = UsageEvent(
        request_id="bad-nul", ts=time.time(), endpoint="chat.completions", status=404, requested_model="evil\x00model"
    )
    await stream.append([good[0], good[1], bad, good[2], good[3]])
    ingestor = UsageIngestor(pool, redis, "worker-e")
    await drain(ingestor)
    assert await row_count(pool, "fine") == 4
    dead = await redis.xrange(keys.USAGE_DEAD_LETTERS)
    assert len(dead) == 1
    assert b"bad-nul" in dead[0][1][b"raw"]
    assert await redis.xlen(keys.USAGE_STREAM) == 0


async def test_append_with_a_marker_tells_whether_redis_lost_its_data(redis: Redis) -> None:
    stream = UsageStream(redis)
    marker = keys.usage_sink_marker("test-edge")
    assert not await stream.append(events(2, "m1"), marker)  # first append: the marker is new
    assert await stream.append(events(1, "m2"), marker)
    assert await stream.append([], marker)  # a probe without events
    assert 0 < await redis.ttl(marker) <= keys.USAGE_SINK_MARKER_TTL_SECONDS
    await redis.flushdb()  # a restart without persistence
    assert not await stream.append([], marker)
    assert await redis.xlen(keys.USAGE_STREAM) == 0
