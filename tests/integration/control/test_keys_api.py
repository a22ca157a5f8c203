"""/api/keys: raw key once, hashed at rest, masked in listings, revocation, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.snapshot import SnapshotCodec
from shared.crypto import hash_api_key
from shared.kv.config_channel import ConfigChannel
from tests.support.env import STORAGE_KEY


async def snapshot_key_hashes(redis: Redis) -> set[str]:
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    return {key.key_hash for key in SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version).keys}


async def test_create_shows_the_raw_key_once_and_stores_only_its_hash(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    response = await admin.post("/api/keys", json={"name": "ci", "scopes": ["inference"]})
    assert response.status_code == 201
    created = response.json()
    raw = created["key"]
    assert raw.startswith("sk-omni-") and len(raw) > 40
    assert created["scopes"] == ["inference"]
    assert created["isActive"] is True
    row = await pool.fetchrow("SELECT * FROM api_keys WHERE id = $1", created["id"])
    assert row is not None
    assert row["key_hash"] == hash_api_key(raw)
    assert raw not in str(dict(row))
    for path in ("/api/keys", f"/api/keys/{created['id']}", "/api/compliance/audit-log"):
        answer = await admin.get(path)
        assert answer.status_code == 200
        assert raw not in answer.text
    assert hash_api_key(raw) in await snapshot_key_hashes(redis)


async def test_optional_fields_update_and_validation(admin: AsyncTestClient) -> None:
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {
        "name": "limited",
        "maxRequestsPerMinute": 10,
        "maxRequestsPerDay": 100,
        "maxTokensPerMinute": 1000,
        "allowedModels": ["openai/*"],
        "expiresAt": expires,
    }
    created = (await admin.post("/api/keys", json=body)).json()
    assert created["maxRequestsPerMinute"] == 10
    assert created["allowedModels"] == ["openai/*"]
    updated = await admin.put(f"/api/keys/{created['id']}", json={"maxRequestsPerMinute": 20, "expiresAt": None})
    assert updated.status_code == 200
    assert updated.json()["maxRequestsPerMinute"] == 20
    assert updated.json()["expiresAt"] is None
    assert updated.json()["maxRequestsPerDay"] == 100


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt"),
        ({"name": "x", "expiresAt": "2999-01-01T00:00:00"}, "expiresAt"),  # no time zone
        ({"name": "x", "expiresAt": "tomorrow"}, "expiresAt"),
        ({"name": "x", "maxRequestsPerMinute": -5}, "maxRequestsPerMinute"),
        ({"name": "x", "allowedModels": "gpt-4o"}, "allowedModels"),
        ({"name": "x", "key": "sk-choose-my-own"}, "key"),
    ],
)
async def test_invalid_keys_name_the_field(
    admin: AsyncTestClient, pool: asyncpg.Pool, body: object, field: str
) -> None:
    response = await admin.post("/api/keys", json=body)
    assert response.status_code in (400, 422)
    assert any(field in detail["field"] for detail in response.json()["error"]["details"])
    assert await pool.fetchval("SELECT count(*) FROM api_keys") == 0


async def test_revocation_removes_the_key_from_the_snapshot(admin: AsyncTestClient, redis: Redis) -> None:
    created = (await admin.post("/api/keys", json={"name": "short-lived"})).json()
    assert hash_api_key(created["key"]) in await snapshot_key_hashes(redis)
    revoked = await admin.delete(f"/api/keys/{created['id']}")
    assert revoked.status_code == 200
    assert hash_api_key(created["key"]) not in await snapshot_key_hashes(redis)
    assert (await admin.delete(f"/api/keys/{created['id']}")).status_code == 200  # idempotent
    listing = (await admin.get("/api/keys")).json()
    assert created["id"] not in [k["id"] for k in listing["keys"]]
    with_revoked = (await admin.get("/api/keys?includeRevoked=true")).json()
    [entry] = [k for k in with_revoked["keys"] if k["id"] == created["id"]]
    assert entry["revokedAt"] is not None
    assert entry["isActive"] is False
    assert (await admin.delete("/api/keys/00000000-0000-0000-0000-000000000000")).status_code == 404


async def test_keys_with_the_admin_scope_can_manage_and_inference_keys_cannot(admin: AsyncTestClient) -> None:
    admin_key = (await admin.post("/api/keys", json={"name": "automation", "scopes": ["admin"]})).json()
    inference_key = (await admin.post("/api/keys", json={"name": "app"})).json()
    await admin.post("/api/auth/logout")
    admin.cookies.clear()

    as_admin = {"authorization": f"Bearer {admin_key['key']}"}
    assert (await admin.get("/api/providers", headers=as_admin)).status_code == 200
    created = await admin.post("/api/keys", json={"name": "by-automation"}, headers=as_admin)
    assert created.status_code == 201

    as_inference = {"authorization": f"Bearer {inference_key['key']}"}
    assert (await admin.get("/api/providers", headers=as_inference)).status_code == 403
    assert (await admin.post("/api/keys", json={"name": "x"}, headers=as_inference)).status_code == 403
    assert (await admin.get("/api/providers", headers={"authorization": "Bearer sk-omni-unknown"})).status_code == 401
    assert (await admin.get("/api/providers", headers={"authorization": "Basic abc"})).status_code == 401

    await admin.delete(f"/api/keys/{admin_key['id']}", headers=as_admin)
    assert (await admin.get("/api/providers", headers=as_admin)).status_code == 401
