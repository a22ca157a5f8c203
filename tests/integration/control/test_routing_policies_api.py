"""/api/policies against the real Postgres and Redis."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.snapshot import PolicyConfig
from tests.integration.control.routing_support import (
    MISSING_IDS,
    NIL_UUID,
    actions,
    assert_names_field,
    audit_rows,
    make_node,
    published,
    version,
)


async def make_key(admin: AsyncTestClient, name: str = "ci") -> str:
    response = await admin.post("/api/keys", json={"name": name})
    assert response.status_code == 201
    return str(response.json()["id"])


async def test_a_policy_is_created_normalised_listed_and_published(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    key = await make_key(admin)
    await make_node(admin, "mycorp")
    body = {
        "name": "office hours",
        "priority": 10,
        "models": ["gpt-*", "anthropic/*"],
        "keyIds": [key, key.upper()],
        "days": [4, 0, 1, 0],
        "hourFrom": 8,
        "hourTo": 18,
        "effect": "deny",
        "preferProviders": ["claude", "mycorp", "anthropic"],
        "maxTokens": 4096,
    }
    start = await version(redis)
    response = await admin.post("/api/policies", json=body)
    assert response.status_code == 201, response.text
    policy = response.json()
    assert policy["keyIds"] == [key]
    assert policy["days"] == [0, 1, 4]
    assert policy["preferProviders"] == ["anthropic", "mycorp"]
    assert (policy["effect"], policy["enabled"], policy["maxTokens"]) == ("deny", True, 4096)
    assert (await admin.get(f"/api/policies/{policy['id']}")).json() == policy
    assert (await admin.get("/api/policies")).json() == {"policies": [policy], "total": 1}
    assert await version(redis) > start
    assert (await published(redis)).policies == (
        PolicyConfig(
            id=policy["id"],
            name="office hours",
            priority=10,
            models=("gpt-*", "anthropic/*"),
            key_ids=(key,),
            days=(0, 1, 4),
            hour_from=8,
            hour_to=18,
            effect="deny",
            prefer_providers=("anthropic", "mycorp"),
            max_tokens=4096,
        ),
    )
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'policy.created'")
    assert row is not None
    assert (row["target_type"], row["target_id"]) == ("policy", policy["id"])


async def test_defaults_order_and_only_enabled_policies_are_published(admin: AsyncTestClient, redis: Redis) -> None:
    minimal = await admin.post("/api/policies", json={"name": "everything"})
    assert minimal.status_code == 201
    assert {k: v for k, v in minimal.json().items() if k not in ("id", "createdAt", "updatedAt")} == {
        "name": "everything",
        "priority": 100,
        "enabled": True,
        "models": [],
        "keyIds": [],
        "days": [],
        "hourFrom": None,
        "hourTo": None,
        "effect": "allow",
        "preferProviders": [],
        "maxTokens": None,
    }
    assert (await admin.post("/api/policies", json={"name": "first", "priority": 1})).status_code == 201
    assert (await admin.post("/api/policies", json={"name": "off", "priority": 0, "enabled": False})).status_code == 201
    listed = [p["name"] for p in (await admin.get("/api/policies")).json()["policies"]]
    assert listed == ["off", "first", "everything"]
    assert [p.name for p in (await published(redis)).policies] == ["first", "everything"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"name": "p", "priority": -1}, "priority"),
        ({"name": "p", "priority": "high"}, "priority"),
        ({"name": "p", "enabled": "perhaps"}, "enabled"),
        ({"name": "p", "models": [""]}, "models"),
        ({"name": "p", "models": ["gpt\n*"]}, "models[0]"),
        ({"name": "p", "keyIds": ["not-a-uuid"]}, "keyIds[0]"),
        ({"name": "p", "keyIds": [NIL_UUID]}, "keyIds[0]"),
        ({"name": "p", "days": [7]}, "days"),
        ({"name": "p", "days": [-1]}, "days"),
        ({"name": "p", "days": ["mon"]}, "days"),
        ({"name": "p", "hourFrom": 8}, "hourTo"),
        ({"name": "p", "hourTo": 8}, "hourFrom"),
        ({"name": "p", "hourFrom": 25, "hourTo": 26}, "hourFrom"),
        ({"name": "p", "hourFrom": 9, "hourTo": 9}, "hourTo"),
        ({"name": "p", "hourFrom": 22, "hourTo": 6}, "hourTo"),
        ({"name": "p", "effect": "maybe"}, "effect"),
        ({"name": "p", "preferProviders": ["nope"]}, "preferProviders[0]"),
        ({"name": "p", "preferProviders": ["openai", ""]}, "preferProviders"),
        ({"name": "p", "maxTokens": 0}, "maxTokens"),
        ({"name": "p", "action": "deny"}, "action"),
    ],
)
async def test_invalid_policies_name_the_field_and_write_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis, body: dict[str, object], field: str
) -> None:
    before = await version(redis)
    assert_names_field(await admin.post("/api/policies", json=body), field)
    assert await pool.fetchval("SELECT count(*) FROM policies") == 0
    assert await audit_rows(pool, "policy") == 0
    assert await version(redis) == before


async def test_update_delete_duplicates_and_unknown_ids(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    ident = (await admin.post("/api/policies", json={"name": "night", "hourFrom": 0, "hourTo": 6})).json()["id"]
    assert (await admin.post("/api/policies", json={"name": "day"})).status_code == 201
    assert_names_field(await admin.post("/api/policies", json={"name": "night"}), "name", status=409)
    assert_names_field(await admin.put(f"/api/policies/{ident}", json={"name": "day"}), "name", status=409)

    updated = await admin.put(f"/api/policies/{ident}", json={"effect": "deny", "maxTokens": 100})
    assert updated.status_code == 200
    assert (updated.json()["effect"], updated.json()["maxTokens"], updated.json()["hourTo"]) == ("deny", 100, 6)
    assert_names_field(await admin.put(f"/api/policies/{ident}", json={"hourFrom": None}), "hourFrom")
    assert_names_field(await admin.put(f"/api/policies/{ident}", json={"hourTo": 0}), "hourTo")
    key = (await admin.post("/api/keys", json={"name": "k"})).json()["id"]
    assert_names_field(await admin.put(f"/api/policies/{ident}", json={"keyIds": [key, key, NIL_UUID]}), "keyIds[2]")
    cleared = await admin.put(f"/api/policies/{ident}", json={"hourFrom": None, "hourTo": None, "maxTokens": None})
    assert (cleared.json()["hourFrom"], cleared.json()["hourTo"], cleared.json()["maxTokens"]) == (None, None, None)
    night = next(p for p in (await published(redis)).policies if p.id == ident)
    assert (night.effect, night.hour_from, night.max_tokens) == ("deny", None, None)
    disabled = await admin.put(f"/api/policies/{ident}", json={"enabled": False})
    assert disabled.json()["enabled"] is False
    assert [p.name for p in (await published(redis)).policies] == ["day"]

    for missing in MISSING_IDS:
        assert (await admin.get(f"/api/policies/{missing}")).status_code == 404
        assert (await admin.put(f"/api/policies/{missing}", json={"priority": 2})).status_code == 404
        assert (await admin.delete(f"/api/policies/{missing}")).status_code == 404
    deleted = await admin.delete(f"/api/policies/{ident}")
    assert deleted.json() == {"id": ident, "deleted": True}
    assert (await admin.get(f"/api/policies/{ident}")).status_code == 404
    assert (await admin.get("/api/policies")).json()["total"] == 1
    assert await actions(pool, "policy") == [
        "policy.created",
        "policy.created",
        "policy.updated",
        "policy.updated",
        "policy.updated",
        "policy.deleted",
    ]
