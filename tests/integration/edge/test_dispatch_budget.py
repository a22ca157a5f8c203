"""Budgets through one in-process edge, on real Redis: refusal before any upstream call, the key's
limits refunded for a refused request, and a failed request settling to nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shared.config.budgets import BUDGETS_KEY
from shared.kv import keys
from shared.kv.batch import RedisBatch
from shared.kv.budget import Budgets, BudgetView
from tests.integration.edge.dispatch_support import (
    CHAT,
    CLIENT_ID,
    KEY_A,
    KEY_B,
    LIMITED_ID,
    LIMITED_KEY,
    Fake,
    auth,
    chat,
    edge_for,
    eventually_async,
    fresh_redis,
    snapshot,
)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    async with fresh_redis() as client:
        yield client


@pytest.fixture
async def fake(fake_upstream: str) -> AsyncIterator[Fake]:
    control = Fake(fake_upstream)
    await control.reset()
    yield control
    await control.reset()
    await control.close()


@pytest.fixture
def base(fake_upstream: str) -> str:
    return f"{fake_upstream}/v1"


def budgets(limits: dict[str, int]) -> dict[str, object]:
    return {BUDGETS_KEY: {key_id: {"limitMicros": limit, "period": "daily"} for key_id, limit in limits.items()}}


async def status(redis: Redis, key_id: str) -> BudgetView:
    batch = RedisBatch(redis)
    slot = Budgets(redis).status(batch, key_id, "daily")
    await batch.run()
    return slot.value


async def test_a_request_its_budget_cannot_hold_is_refused_and_its_limits_refunded(
    redis: Redis, fake: Fake, base: str
) -> None:
    config = snapshot(base, limited_rpm=5, settings=budgets({LIMITED_ID: 5, CLIENT_ID: 1_000_000}))
    async with edge_for(redis, config) as edge:
        refused = await edge.post(CHAT, json=chat("hello", max_tokens=10), headers=auth(LIMITED_KEY))
        served = await edge.post(CHAT, json=chat("hello", max_tokens=10), headers=auth())
    assert refused.status_code == 429, refused.text
    assert refused.headers["x-should-retry"] == "false"
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert refused.headers["x-omniroute-budget-limit"] == "0.0000050000"
    assert served.status_code == 200, served.text
    assert float(served.headers["x-omniroute-budget-remaining"]) > 0
    assert len(await fake.calls()) == 1  # the refused request never reached an upstream

    async def refunded() -> bool:
        return not await redis.exists(keys.ratelimit("k:{" + LIMITED_ID + "}:rpm"))

    await eventually_async(refunded)
    assert (await status(redis, LIMITED_ID)).reserved == 0

    async def settled() -> bool:
        view = await status(redis, CLIENT_ID)
        return view.reserved == 0 and view.spent > 0

    await eventually_async(settled)


async def test_a_failed_request_settles_to_nothing(redis: Redis, fake: Fake, base: str) -> None:
    await fake.script({"status": 500}, key=KEY_A)
    await fake.script({"status": 500}, key=KEY_B)
    async with edge_for(redis, snapshot(base, settings=budgets({CLIENT_ID: 1_000_000}))) as edge:
        failed = await edge.post(CHAT, json=chat("hello", max_tokens=10), headers=auth())
    assert failed.status_code >= 500
    assert "x-omniroute-budget-remaining" in failed.headers

    async def released() -> bool:
        view = await status(redis, CLIENT_ID)
        return view.reserved == 0 and view.spent == 0

    await eventually_async(released)
    assert (await redis.hgetall(keys.budget(CLIENT_ID))).keys() >= {b"spent", b"reserved"}
