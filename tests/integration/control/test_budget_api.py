"""/api/usage/budget against the real Postgres and Redis: stored, audited, published, status from Redis."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.budgets import KeyBudget, key_budgets
from shared.config.snapshot import SnapshotCodec
from shared.kv.batch import RedisBatch
from shared.kv.budget import Budgets
from shared.kv.config_channel import ConfigChannel
from tests.support.env import STORAGE_KEY


async def published_budgets(redis: Redis) -> dict[str, KeyBudget]:
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    return key_budgets(SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version).settings)


async def new_key(admin: AsyncTestClient, name: str = "budgeted") -> str:
    created = await admin.post("/api/keys", json={"name": name})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_budget_is_stored_audited_published_and_reported(
    admin: AsyncTestClient, redis: Redis, pool: asyncpg.Pool
) -> None:
    key_id = await new_key(admin)
    assert (await admin.get("/api/usage/budget")).json() == {"budgets": []}
    set_ = await admin.post("/api/usage/budget", json={"keyId": key_id, "limit": 2.5, "period": "daily"})
    assert set_.status_code == 200, set_.text
    budget = set_.json()["budget"]
    assert budget["limitMicros"] == 2_500_000 and budget["period"] == "daily" and budget["limit"] == 2.5
    assert budget["spentMicros"] == 0 and budget["remainingMicros"] == 2_500_000
    assert budget["periodStart"].endswith("00:00:00Z") or budget["periodStart"].endswith("00:00:00+00:00")
    assert await published_budgets(redis) == {key_id: KeyBudget(limit_micros=2_500_000, period="daily")}

    budgets, batch = Budgets(redis), RedisBatch(redis)
    budgets.reserve(batch, key_id, "req-1", 400_000, 2_500_000, "daily", 60_000)
    budgets.reserve(batch, key_id, "req-2", 300_000, 2_500_000, "daily", 60_000)
    budgets.settle(batch, key_id, "req-1", 100_000, "daily")
    await batch.run()
    status = (await admin.get("/api/usage/budget")).json()["budgets"]
    assert len(status) == 1
    row = status[0]
    assert (row["keyId"], row["keyName"], row["spentMicros"], row["reservedMicros"], row["remainingMicros"]) == (
        key_id,
        "budgeted",
        100_000,
        300_000,
        2_100_000,
    )
    assert row["spent"] == 0.1 and row["remaining"] == 2.1

    changed = await admin.post("/api/usage/budget", json={"keyId": key_id, "limit": 10, "period": "monthly"})
    assert changed.json()["budget"]["limitMicros"] == 10_000_000
    actions = [
        r["action"]
        for r in await pool.fetch("SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id", key_id)
        if r["action"].startswith("budget.")
    ]
    assert actions == ["budget.updated", "budget.updated"]

    removed = await admin.post("/api/usage/budget", json={"keyId": key_id, "limit": None})
    assert removed.json() == {"keyId": key_id, "removed": True, "budget": None}
    assert await published_budgets(redis) == {}
    assert (await admin.get("/api/usage/budget")).json() == {"budgets": []}


async def test_delete_removes_a_budget_and_unknown_ones_are_404(admin: AsyncTestClient) -> None:
    key_id = await new_key(admin)
    await admin.post("/api/usage/budget", json={"keyId": key_id, "limit": 1})
    deleted = await admin.delete("/api/usage/budget", params={"keyId": key_id})
    assert deleted.json() == {"id": key_id, "deleted": True}
    again = await admin.delete("/api/usage/budget", params={"keyId": key_id})
    assert again.status_code == 404
    assert (await admin.delete("/api/usage/budget", params={"keyId": "not-a-uuid"})).status_code == 404


async def test_unknown_keys_are_404_and_bad_values_name_their_field(admin: AsyncTestClient) -> None:
    key_id = await new_key(admin)
    unknown = await admin.post(
        "/api/usage/budget", json={"keyId": "00000000-0000-4000-8000-000000000000", "limit": 1, "period": "daily"}
    )
    assert unknown.status_code == 404
    assert (await admin.post("/api/usage/budget", json={"keyId": "nope", "limit": 1})).status_code == 404
    for body, field in [
        ({"keyId": key_id, "limit": 0}, "limit"),
        ({"keyId": key_id, "limit": -3}, "limit"),
        ({"keyId": key_id, "limit": 1e12}, "limit"),
        ({"keyId": key_id, "limit": 1e-9}, "limit"),
        ({"keyId": key_id, "limit": 1, "period": "yearly"}, "period"),
    ]:
        answer = await admin.post("/api/usage/budget", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["details"][0]["field"] == field
    for body, field in [({"keyId": key_id, "limit": "lots"}, "limit"), ({"limit": 1}, "keyId")]:
        answer = await admin.post("/api/usage/budget", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert field in answer.json()["error"]["message"]
    assert (await admin.get("/api/usage/budget")).json() == {"budgets": []}


async def test_revoking_a_key_keeps_its_budget_until_the_key_is_gone(
    admin: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    key_id = await new_key(admin)
    await admin.post("/api/usage/budget", json={"keyId": key_id, "limit": 1, "period": "weekly"})
    await pool.execute("DELETE FROM api_keys WHERE id = $1", key_id)
    assert (await admin.get("/api/usage/budget")).json() == {"budgets": []}
