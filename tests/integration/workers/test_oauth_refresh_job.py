"""The worker's OAuth refresh-ahead cron job: arq workers in burst mode, real Postgres and Redis, the fake
OAuth provider on loopback. Two workers at once refresh each token due once; the control plane's
publisher backstop then ships the new access token to the edges in a snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.workers.db import create_pool
from services.workers.jobs.measured import measured
from services.workers.jobs.oauth_refresh import refresh_oauth_tokens
from services.workers.main import maintenance_deps
from shared.config.snapshot import SnapshotCodec
from shared.kv.config_channel import ConfigChannel
from shared.settings import Settings
from tests.integration.conftest import REDIS_DB
from tests.integration.control.oauth_support import connect_claude, fake_oauth, fake_oauth_server
from tests.integration.workers.arq_support import run_bursts
from tests.support.env import STORAGE_KEY, redis_url
from tests.support.fake_oauth import FakeOAuth

__all__ = ["fake_oauth", "fake_oauth_server"]

URL = redis_url(REDIS_DB)


@pytest.fixture
async def worker_contexts(settings: Settings, pg_url: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Two workers' job contexts, each with its own pool and Redis client, built as the worker process builds them."""
    async with AsyncExitStack() as stack:
        contexts = []
        for _ in range(2):
            pool = await create_pool(pg_url)
            stack.push_async_callback(pool.close)
            redis = Redis.from_url(settings.redis_url)
            stack.push_async_callback(redis.aclose)
            contexts.append({"pool": pool, **maintenance_deps(settings, pool, redis)})
        yield contexts


async def published_token(redis: Redis, ident: str) -> str | None:
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    snapshot = SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version)
    return next((c.api_key for c in snapshot.connections if c.id == ident), None)


async def test_two_workers_refresh_only_tokens_near_expiry_once_and_edges_get_the_new_one(
    admin: AsyncTestClient,
    fake_oauth: FakeOAuth,
    pool: asyncpg.Pool,
    redis: Redis,
    worker_contexts: list[dict[str, Any]],
) -> None:
    fake_oauth.expires_in = 120  # inside the 5-minute lead
    soon = await connect_claude(admin, name="soon")
    fake_oauth.expires_in = 3600
    later = await connect_claude(admin, name="later")
    old_token = await published_token(redis, str(soon["id"]))
    fake_oauth.refresh_delay = 0.3  # both workers are in flight together

    counts = await run_bursts(URL, measured(refresh_oauth_tokens), worker_contexts)

    # arq enqueues a cron slot once fleet-wide; the lease and the token-version swap back that up.
    assert sum(counts) == 1
    assert fake_oauth.calls("refresh_token") == 1
    versions = {str(r["id"]): r["oauth_token_version"] for r in await pool.fetch("SELECT * FROM provider_connections")}
    assert versions == {soon["id"]: 2, later["id"]: 1}
    audit = await pool.fetchrow("SELECT actor, after FROM audit_log WHERE action = 'oauth.refreshed'")
    assert audit is not None and audit["actor"] == "system:oauth-refresh"
    new_token = fake_oauth.issued_access_tokens[-1]
    assert new_token != old_token
    for _ in range(100):  # the control plane's backstop sees the bumped config version
        if await published_token(redis, str(soon["id"])) == new_token:
            break
        await asyncio.sleep(0.05)
    assert await published_token(redis, str(soon["id"])) == new_token

    # A second pass finds nothing due: the refreshed token now outlives the lead.
    assert await run_bursts(URL, measured(refresh_oauth_tokens), worker_contexts[:1]) == [0]
    assert fake_oauth.calls("refresh_token") == 1


async def test_concurrent_passes_outside_arq_still_refresh_once(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, worker_contexts: list[dict[str, Any]]
) -> None:
    """Two workers running the pass at the same moment (not one arq cron slot): the lease decides."""
    fake_oauth.expires_in = 60
    await connect_claude(admin, name="due")
    fake_oauth.refresh_delay = 0.3
    counts = await asyncio.gather(*(refresh_oauth_tokens(ctx) for ctx in worker_contexts))
    assert sorted(counts) == [0, 1]
    assert fake_oauth.calls("refresh_token") == 1


async def test_without_the_storage_key_the_job_does_nothing(pg_url: str, redis: Redis) -> None:
    assert await refresh_oauth_tokens({}) == 0
