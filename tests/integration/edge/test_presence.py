"""An edge process announcing itself in real Redis: at start, on a new snapshot, on stop; quiet when Redis is down."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.edge.presence import PresenceAnnouncer
from services.edge.snapshot_sync import ConfigHolder
from shared.config.snapshot import Snapshot
from shared.kv import keys
from shared.kv.presence import Presence, SeenReplica
from shared.routing.config import EdgeConfig
from tests.support.env import free_port, redis_url

REDIS_DB = 8  # its own db: see tests/integration/edge/dispatch_support.py for the others


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url(REDIS_DB))
    await client.flushdb()
    yield client
    await client.aclose()


def holder_at(version: int) -> ConfigHolder:
    holder = ConfigHolder()
    holder.swap(EdgeConfig(Snapshot(version=version, published_at=time.time())))
    return holder


async def seen_within(redis: Redis, predicate: object, timeout: float = 3.0) -> list[SeenReplica]:
    deadline = time.monotonic() + timeout
    while True:
        seen = await Presence(redis).seen()
        if callable(predicate) and predicate(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"presence never matched: {seen}")
        await asyncio.sleep(0.05)


async def test_announces_at_start_and_at_once_on_a_new_snapshot_then_withdraws(redis: Redis) -> None:
    holder = holder_at(7)
    announcer = PresenceAnnouncer(redis, holder, port=20128)
    task = asyncio.create_task(announcer.run())
    try:
        seen = await seen_within(redis, lambda s: len(s) == 1)
        record = seen[0].record
        assert record.id == announcer.replica_id
        assert (record.service, record.pid, record.port, record.version) == ("edge", os.getpid(), 20128, 7)
        assert record.started_at_ms <= int(time.time() * 1000)
        assert seen[0].age_ms < 1000
        assert 0 < await redis.pttl(keys.edge_replica(record.id)) <= keys.EDGE_REPLICA_TTL_MS

        started = time.monotonic()
        holder.swap(EdgeConfig(Snapshot(version=8, published_at=time.time())))
        await seen_within(redis, lambda s: s and s[0].record.version == 8)
        assert time.monotonic() - started < 1.0  # not at the next heartbeat (5 s) but within a tick
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await announcer.withdraw()
    assert await Presence(redis).seen() == []
    assert await redis.exists(keys.EDGE_REPLICAS, keys.edge_replica(announcer.replica_id)) == 0


async def test_two_replicas_are_listed_most_recent_first(redis: Redis) -> None:
    first = PresenceAnnouncer(redis, holder_at(3), port=1)
    second = PresenceAnnouncer(redis, holder_at(3), port=2)
    assert await first.announce_once()
    await asyncio.sleep(0.01)
    assert await second.announce_once()
    seen = await Presence(redis).seen()
    assert [replica.record.id for replica in seen] == [second.replica_id, first.replica_id]


async def test_a_redis_outage_is_counted_not_raised() -> None:
    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    announcer = PresenceAnnouncer(down, holder_at(1), port=None)
    try:
        assert await announcer.announce_once() is False
        task = asyncio.create_task(announcer.run())
        await asyncio.sleep(0.5)  # keeps looping, never raises
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await announcer.withdraw()  # best effort, silent
    finally:
        await down.aclose()
