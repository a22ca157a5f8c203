"""Integration fixtures: a fresh migrated database and a clean Redis db, both real."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared.settings import Settings
from tests.support.auth import login
from tests.support.db import fresh_database
from tests.support.env import redis_url, settings_for

DATABASE = "omniroute_it"
REDIS_DB = 13


@pytest.fixture(scope="session")
async def pg_url() -> str:
    return await fresh_database(DATABASE)


@pytest.fixture(scope="session")
async def pool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await asyncpg.create_pool(pg_url, min_size=1, max_size=4)
    assert created is not None
    yield created
    await created.close()


@pytest.fixture
async def clean_db(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "TRUNCATE provider_connections, provider_nodes, api_keys, combos, model_aliases, policies, settings, audit_log,"
        " usage_events, usage_hourly, usage_daily, provider_models, pricing, sync_state, sync_tombstones, eval_runs,"
        " eval_results, api_key_budgets"
    )


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url(REDIS_DB))
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def settings(pg_url: str) -> Settings:
    return settings_for(DATABASE, REDIS_DB)


@pytest.fixture
async def control(settings: Settings, redis: Redis, clean_db: None) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


@pytest.fixture
async def admin(control: AsyncTestClient) -> AsyncTestClient:
    await login(control)  # cookie session + X-CSRF-Token on every later request
    return control
