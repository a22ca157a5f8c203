"""How an edge follows config snapshots: start, announce, poll backstop, bad blobs, Redis outages."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.edge.snapshot_sync import ConfigHolder, SnapshotSync
from shared.config.snapshot import KeyConfig, Snapshot, SnapshotCodec
from shared.kv import keys
from shared.kv.config_channel import ConfigChannel
from tests.support.env import STORAGE_KEY
from tests.support.redis_server import PrivateRedis

CODEC = SnapshotCodec(STORAGE_KEY)


def snapshot(version: int, key_name: str = "k") -> Snapshot:
    return Snapshot(
        version=version, published_at=time.time(), keys=(KeyConfig(id="id", name=key_name, key_hash="ab" * 32),)
    )


async def wait_for(predicate: object, timeout: float = 2.0) -> float:
    started = time.perf_counter()
    while not predicate():  # type: ignore[operator]
        if time.perf_counter() - started > timeout:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


@contextlib.asynccontextmanager
async def running(sync: SnapshotSync) -> AsyncIterator[None]:
    task = asyncio.create_task(sync.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def holder() -> ConfigHolder:
    return ConfigHolder()


async def test_loads_at_start_then_swaps_on_announcement(redis: Redis, holder: ConfigHolder) -> None:
    channel = ConfigChannel(redis)
    await channel.publish(3, CODEC.encode(snapshot(3)))
    async with running(SnapshotSync(redis, CODEC, holder, poll_seconds=30)):
        await wait_for(lambda: holder.current.version == 3)
        await asyncio.sleep(0.05)  # let the subscription settle
        await channel.publish(4, CODEC.encode(snapshot(4, "renamed")))
        elapsed = await wait_for(lambda: holder.current.version == 4)
    assert elapsed < 0.5  # an announcement, not the 30 s poll
    assert next(iter(holder.current.keys_by_hash.values())).name == "renamed"


async def test_older_versions_are_never_applied(redis: Redis, holder: ConfigHolder) -> None:
    channel = ConfigChannel(redis)
    assert await channel.publish(10, CODEC.encode(snapshot(10))) == 10
    assert await channel.publish(7, CODEC.encode(snapshot(7))) == 10  # refused by the script
    async with running(SnapshotSync(redis, CODEC, holder, poll_seconds=0.05)):
        await wait_for(lambda: holder.current.version == 10)
    assert not holder.swap(holder.current.__class__(snapshot(9)))


async def test_the_poll_heals_a_missed_announcement(redis: Redis, holder: ConfigHolder) -> None:
    async with running(SnapshotSync(redis, CODEC, holder, poll_seconds=0.1)):
        await asyncio.sleep(0.05)
        # Written without PUBLISH, as if the announcement were lost.
        await redis.hset(keys.CONFIG_CURRENT, mapping={"version": 2, "blob": CODEC.encode(snapshot(2))})
        elapsed = await wait_for(lambda: holder.current.version == 2)
    assert elapsed < 1.0


async def test_an_undecodable_snapshot_is_ignored(redis: Redis, holder: ConfigHolder) -> None:
    channel = ConfigChannel(redis)
    await channel.publish(1, CODEC.encode(snapshot(1)))
    async with running(SnapshotSync(redis, CODEC, holder, poll_seconds=0.05)):
        await wait_for(lambda: holder.current.version == 1)
        await channel.publish(2, SnapshotCodec("another-storage-key-0123456789abcdef0123").encode(snapshot(2)))
        await asyncio.sleep(0.3)
        assert holder.current.version == 1
        await channel.publish(3, CODEC.encode(snapshot(3)))
        await wait_for(lambda: holder.current.version == 3)


async def test_keeps_serving_through_a_redis_outage_and_catches_up() -> None:
    server = PrivateRedis()
    server.start()
    client = Redis.from_url(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    holder = ConfigHolder()
    try:
        await ConfigChannel(client).publish(1, CODEC.encode(snapshot(1)))
        async with running(SnapshotSync(client, CODEC, holder, poll_seconds=0.1)):
            await wait_for(lambda: holder.current.version == 1)
            server.stop()
            await asyncio.sleep(0.5)
            assert holder.current.version == 1  # the last snapshot stays in force
            server.start()  # same port, empty: as after a restart without persistence
            await ConfigChannel(client).publish(2, CODEC.encode(snapshot(2)))
            await wait_for(lambda: holder.current.version == 2, timeout=5.0)
    finally:
        await client.aclose()
        server.stop()
