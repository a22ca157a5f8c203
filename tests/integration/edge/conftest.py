"""An in-process edge against real Redis and a real fake upstream listening on a socket."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.edge.app import create_app
from shared.config.snapshot import ConnectionConfig, KeyConfig, Snapshot, SnapshotCodec
from shared.crypto import hash_api_key
from shared.kv.config_channel import ConfigChannel
from shared.settings import Settings
from tests.support.env import STORAGE_KEY
from tests.support.threaded_upstream import threaded_fake_upstream

CLIENT_KEY = "sk-omni-integration-client-key-000000000000000"
RESTRICTED_KEY = "sk-omni-integration-restricted-key-0000000000"
EXPIRED_KEY = "sk-omni-integration-expired-key-000000000000000"
UPSTREAM_KEY = "sk-upstream-secret-key-for-tests-1234567890"

Publish = Callable[[Snapshot], Coroutine[Any, Any, int]]


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[str]:
    with threaded_fake_upstream() as url:
        yield url


def snapshot_for(upstream_url: str, version: int) -> Snapshot:
    return Snapshot(
        version=version,
        published_at=time.time(),
        connections=(
            ConnectionConfig(
                id="11111111-1111-1111-1111-111111111111",
                provider="openai",
                name="main",
                api_key=UPSTREAM_KEY,
                base_url=upstream_url,
                priority=1,
            ),
        ),
        keys=(
            KeyConfig(id="22222222-2222-2222-2222-222222222222", name="client", key_hash=hash_api_key(CLIENT_KEY)),
            KeyConfig(
                id="33333333-3333-3333-3333-333333333333",
                name="restricted",
                key_hash=hash_api_key(RESTRICTED_KEY),
                allowed_models=("openai/gpt-4o",),
            ),
            KeyConfig(
                id="44444444-4444-4444-4444-444444444444",
                name="expired",
                key_hash=hash_api_key(EXPIRED_KEY),
                expires_at=time.time() - 5,
            ),
        ),
        aliases={"fast": "openai/gpt-4o-mini"},
    )


@pytest.fixture
def publish(redis: Redis) -> Publish:
    channel = ConfigChannel(redis)
    codec = SnapshotCodec(STORAGE_KEY)

    async def do(snapshot: Snapshot) -> int:
        return await channel.publish(snapshot.version, codec.encode(snapshot))

    return do


@pytest.fixture
async def edge(
    settings: Settings, redis: Redis, fake_upstream: str, publish: Publish
) -> AsyncIterator[AsyncTestClient]:
    await publish(snapshot_for(f"{fake_upstream}/v1", version=5))
    tuned = replace(settings, max_body_bytes=64 * 1024, timeouts=replace(settings.timeouts, first_byte=0.5, idle=0.5))
    async with AsyncTestClient(app=create_app(tuned)) as client:
        yield client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"authorization": f"Bearer {CLIENT_KEY}"}
