"""/api/providers against the real Postgres and Redis."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.snapshot import SnapshotCodec
from shared.kv.config_channel import ConfigChannel
from tests.support.env import STORAGE_KEY

FAKE_KEY = "sk-test-provider-key-abcdefghijklmnop"


def openai_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "provider": "openai",
        "name": "main",
        "apiKey": FAKE_KEY,
        "baseUrl": "http://127.0.0.1:9000/v1",
        "priority": 1,
        "isActive": True,
    }
    body.update(overrides)
    return body


async def audit_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'provider.%'"))


async def test_create_masks_the_key_and_encrypts_it_at_rest(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    response = await admin.post("/api/providers", json=openai_body())
    assert response.status_code == 201
    created = response.json()
    assert created["provider"] == "openai"
    assert created["name"] == "main"
    assert created["baseUrl"] == "http://127.0.0.1:9000/v1"
    assert FAKE_KEY not in response.text
    assert created["apiKey"].startswith("sk-tes") and created["apiKey"].endswith("mnop")
    stored = await pool.fetchrow("SELECT * FROM provider_connections WHERE id = $1", created["id"])
    assert stored is not None
    assert FAKE_KEY.encode() not in bytes(stored["api_key_enc"])
    listing = await admin.get("/api/providers")
    assert listing.status_code == 200
    assert FAKE_KEY not in listing.text
    assert [p["id"] for p in listing.json()["providers"]] == [created["id"]]
    assert listing.json()["total"] == 1


async def test_base_url_is_accepted_inside_provider_specific_data(admin: AsyncTestClient) -> None:
    body = openai_body(baseUrl=None, providerSpecificData={"baseUrl": "http://127.0.0.1:9001/v1/", "org": "x"})
    response = await admin.post("/api/providers", json=body)
    assert response.status_code == 201
    assert response.json()["baseUrl"] == "http://127.0.0.1:9001/v1"
    assert response.json()["providerSpecificData"] == {"org": "x"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (openai_body(provider="no-such-provider"), "provider"),
        (openai_body(apiKey=None), "apiKey"),
        (openai_body(name="   "), "name"),
        (openai_body(name=42), "name"),
        (openai_body(priority=-1), "priority"),
        (openai_body(priority="high"), "priority"),
        (openai_body(baseUrl="ftp://example.com"), "baseUrl"),
        (openai_body(apiKey="sk-with\nnewline"), "apiKey"),
        (openai_body(unexpected="field"), "unexpected"),
        ({"provider": "demo", "name": "d"}, "baseUrl"),
        ({"name": "missing-provider"}, "provider"),
        (openai_body(maxRequestsPerMinute=0), "maxRequestsPerMinute"),
        (openai_body(models=["ok", ""]), "models"),
    ],
)
async def test_invalid_payloads_name_the_field_and_write_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, body: dict[str, object], field: str
) -> None:
    before = await audit_count(pool)
    response = await admin.post("/api/providers", json=body)
    assert response.status_code in (400, 422)
    error = response.json()["error"]
    assert field in error["message"]
    assert any(field in detail["field"] for detail in error["details"])
    assert await pool.fetchval("SELECT count(*) FROM provider_connections") == 0
    assert await audit_count(pool) == before


async def test_private_base_url_is_refused_without_the_opt_in(settings: object, redis: Redis, clean_db: None) -> None:
    from dataclasses import replace

    from services.control.app import create_app
    from tests.support.auth import login

    strict = replace(settings, allow_private_upstreams=False)  # type: ignore[type-var]
    async with AsyncTestClient(app=create_app(strict)) as client:
        await login(client)
        for url in (
            "http://127.0.0.1:9000/v1",
            "http://169.254.169.254/latest",
            "http://[::1]/v1",
            "http://2130706433/",
        ):
            response = await client.post("/api/providers", json=openai_body(baseUrl=url))
            assert response.status_code == 400, url
            assert response.json()["error"]["details"][0]["field"] == "baseUrl"


async def test_duplicate_name_is_a_conflict(admin: AsyncTestClient) -> None:
    assert (await admin.post("/api/providers", json=openai_body())).status_code == 201
    response = await admin.post("/api/providers", json=openai_body())
    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["field"] == "name"


async def test_get_update_delete_and_unknown_ids(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    ident = (await admin.post("/api/providers", json=openai_body())).json()["id"]
    fetched = await admin.get(f"/api/providers/{ident}")
    assert fetched.status_code == 200
    assert fetched.json()["priority"] == 1

    updated = await admin.put(f"/api/providers/{ident}", json={"priority": 7, "defaultModel": "gpt-4o"})
    assert updated.status_code == 200
    assert updated.json()["priority"] == 7
    assert updated.json()["defaultModel"] == "gpt-4o"
    assert updated.json()["apiKey"] == fetched.json()["apiKey"]  # untouched key kept

    cleared = await admin.put(f"/api/providers/{ident}", json={"defaultModel": None})
    assert cleared.json()["defaultModel"] is None
    assert (await admin.put(f"/api/providers/{ident}", json={"apiKey": None})).status_code == 400

    for missing in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "1"):
        assert (await admin.get(f"/api/providers/{missing}")).status_code == 404
        assert (await admin.put(f"/api/providers/{missing}", json={"priority": 2})).status_code == 404
        assert (await admin.delete(f"/api/providers/{missing}")).status_code == 404

    deleted = await admin.delete(f"/api/providers/{ident}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": ident, "deleted": True}
    assert (await admin.get(f"/api/providers/{ident}")).status_code == 404
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions == [
        "auth.login.success",
        "provider.created",
        "provider.updated",
        "provider.updated",
        "provider.deleted",
    ]


async def test_audit_rows_redact_secrets_and_carry_the_request_id(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    response = await admin.post("/api/providers", json=openai_body(), headers={"x-request-id": "req-audit-1"})
    assert response.headers["x-omniroute-request-id"] == "req-audit-1"
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'provider.created'")
    assert row is not None
    assert row["actor"] == "admin"
    assert row["request_id"] == "req-audit-1"
    assert row["target_id"] == response.json()["id"]
    assert FAKE_KEY not in str(row["after"])
    assert "[REDACTED]" in str(row["after"])


async def test_every_change_publishes_a_newer_snapshot_with_the_decrypted_key(
    admin: AsyncTestClient, redis: Redis
) -> None:
    channel = ConfigChannel(redis)
    codec = SnapshotCodec(STORAGE_KEY)
    start = await channel.current_version()
    ident = (await admin.post("/api/providers", json=openai_body())).json()["id"]
    after_create = await channel.current_version()
    assert after_create > start
    stored = await channel.load()
    assert stored is not None
    snapshot = codec.decode(stored.blob, stored.version)
    [connection] = snapshot.connections
    assert connection.id == ident
    assert connection.api_key == FAKE_KEY
    assert FAKE_KEY.encode() not in stored.blob  # encrypted in Redis too

    await admin.put(f"/api/providers/{ident}", json={"isActive": False})
    after_update = await channel.current_version()
    assert after_update > after_create
    stored = await channel.load()
    assert stored is not None
    assert codec.decode(stored.blob, stored.version).connections == ()  # inactive connections are not served


async def test_failed_mutation_publishes_nothing(admin: AsyncTestClient, redis: Redis) -> None:
    channel = ConfigChannel(redis)
    before = await channel.current_version()
    assert (await admin.post("/api/providers", json=openai_body(provider="nope"))).status_code == 400
    assert (
        await admin.put("/api/providers/00000000-0000-0000-0000-000000000000", json={"priority": 3})
    ).status_code == 404
    assert await channel.current_version() == before


async def test_provider_nodes_are_managed_and_published(admin: AsyncTestClient, redis: Redis) -> None:
    body = {
        "prefix": "mycorp",
        "name": "Corp gateway",
        "type": "anthropic-compatible",
        "baseUrl": "http://127.0.0.1:9100",
        "apiKey": FAKE_KEY,
        "models": ["corp-large"],
    }
    created = await admin.post("/api/provider-nodes", json=body)
    assert created.status_code == 201, created.text
    node = created.json()
    assert node["prefix"] == "mycorp"
    assert FAKE_KEY not in created.text
    assert (await admin.post("/api/provider-nodes", json=body)).status_code == 409
    for bad, field in (
        ({**body, "prefix": "openai"}, "prefix"),
        ({**body, "prefix": "Bad Prefix"}, "prefix"),
        ({**body, "prefix": "x2", "type": "grpc"}, "type"),
        ({**body, "prefix": "x3", "baseUrl": "ftp://x"}, "baseUrl"),
    ):
        response = await admin.post("/api/provider-nodes", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["details"][0]["field"] == field
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    [published] = SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version).nodes
    assert published.prefix == "mycorp"
    assert published.api_key == FAKE_KEY
    updated = await admin.put(f"/api/provider-nodes/{node['id']}", json={"models": ["corp-large", "corp-small"]})
    assert updated.json()["models"] == ["corp-large", "corp-small"]
    assert updated.json()["apiKey"] == node["apiKey"]
    assert (await admin.get("/api/provider-nodes")).json()["total"] == 1
    assert (await admin.delete(f"/api/provider-nodes/{node['id']}")).status_code == 200
    assert (await admin.get(f"/api/provider-nodes/{node['id']}")).status_code == 404
