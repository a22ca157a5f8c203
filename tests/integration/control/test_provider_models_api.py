"""/api/provider-models against the real Postgres and Redis; effects read back from the published snapshot."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.snapshot import Snapshot, SnapshotCodec
from shared.kv.config_channel import ConfigChannel
from shared.routing.config import EdgeConfig
from shared.routing.route import Step, resolve_route
from tests.support.env import STORAGE_KEY

MISSING = "00000000-0000-0000-0000-000000000000"


async def published(redis: Redis) -> Snapshot:
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    return SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version)


async def audit_actions(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch("SELECT action FROM audit_log WHERE action LIKE 'provider_model.%' ORDER BY id")
    return [row["action"] for row in rows]


async def connect_openai(admin: AsyncTestClient) -> None:
    body = {
        "provider": "openai",
        "name": "main",
        "apiKey": "sk-models-test-000000000000",
        "baseUrl": "http://127.0.0.1:9/v1",
    }
    assert (await admin.post("/api/providers", json=body)).status_code == 201


async def test_a_custom_model_is_listed_routable_and_described(
    admin: AsyncTestClient, redis: Redis, pool: asyncpg.Pool
) -> None:
    await connect_openai(admin)
    body = {
        "provider": "oai",
        "model": "ft:gpt-4o-mini:acme",
        "displayName": "Acme fine-tune",
        "contextWindow": 128000,
        "maxOutputTokens": 16384,
        "capabilities": {"tools": True, "vision": False},
    }
    response = await admin.post("/api/provider-models", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["provider"] == "openai"
    assert created["custom"] is True
    assert created["kind"] == "chat"
    assert created["hidden"] is False
    config = EdgeConfig(await published(redis))
    assert ("openai/ft:gpt-4o-mini:acme", "openai") in config.model_ids()
    assert resolve_route(config, "ft:gpt-4o-mini:acme") == Step("openai", "ft:gpt-4o-mini:acme")
    catalog = (await admin.get("/api/models/catalog")).json()
    [openai] = [p for p in catalog["providers"] if p["id"] == "openai"]
    assert "openai/ft:gpt-4o-mini:acme" in [m["id"] for m in openai["models"]]
    listed = (await admin.get("/api/provider-models", params={"provider": "openai"})).json()
    assert listed["total"] == 1 and listed["models"][0]["id"] == created["id"]
    assert (await admin.get("/api/provider-models", params={"provider": "gemini"})).json()["total"] == 0
    assert await audit_actions(pool) == ["provider_model.created"]


async def test_hiding_a_catalog_model_is_listing_only_and_deleting_the_row_shows_it(
    admin: AsyncTestClient, redis: Redis, pool: asyncpg.Pool
) -> None:
    await connect_openai(admin)
    hidden = await admin.patch("/api/provider-models", json={"provider": "openai", "model": "gpt-4o", "hidden": True})
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["custom"] is False
    config = EdgeConfig(await published(redis))
    ids = [ident for ident, _ in config.model_ids()]
    assert "openai/gpt-4o" not in ids and "openai/gpt-4o-mini" in ids
    assert resolve_route(config, "openai/gpt-4o") == Step("openai", "gpt-4o")  # still served when named
    catalog = (await admin.get("/api/models/catalog")).json()
    [openai] = [p for p in catalog["providers"] if p["id"] == "openai"]
    assert "openai/gpt-4o" not in [m["id"] for m in openai["models"]]
    shown = await admin.patch("/api/provider-models", json={"id": hidden.json()["id"], "hidden": False})
    assert shown.status_code == 200 and shown.json()["hidden"] is False
    assert "openai/gpt-4o" in [i for i, _ in EdgeConfig(await published(redis)).model_ids()]
    await admin.patch("/api/provider-models", json={"provider": "openai", "model": "gpt-4o", "hidden": True})
    deleted = await admin.delete("/api/provider-models", params={"provider": "openai", "model": "gpt-4o"})
    assert deleted.status_code == 200
    assert "openai/gpt-4o" in [i for i, _ in EdgeConfig(await published(redis)).model_ids()]
    assert await audit_actions(pool) == [
        "provider_model.updated",
        "provider_model.updated",
        "provider_model.updated",
        "provider_model.deleted",
    ]


async def test_models_of_provider_nodes(admin: AsyncTestClient, redis: Redis) -> None:
    node = {
        "prefix": "corp",
        "name": "Corp",
        "type": "openai-compatible",
        "baseUrl": "http://127.0.0.1:9/v1",
        "models": ["corp-large"],
    }
    assert (await admin.post("/api/provider-nodes", json=node)).status_code == 201
    assert (
        await admin.post("/api/provider-models", json={"provider": "corp", "model": "corp-small"})
    ).status_code == 201
    assert (
        await admin.post("/api/provider-models", json={"provider": "corp", "model": "corp-large"})
    ).status_code == 409
    hide = await admin.patch("/api/provider-models", json={"provider": "corp", "model": "corp-large", "hidden": True})
    assert hide.status_code == 200
    ids = [i for i, _ in EdgeConfig(await published(redis)).model_ids()]
    assert "corp/corp-small" in ids and "corp/corp-large" not in ids


async def test_update_and_delete_by_id(admin: AsyncTestClient) -> None:
    created = (await admin.post("/api/provider-models", json={"provider": "gemini", "model": "gemini-exp"})).json()
    changed = await admin.patch(
        "/api/provider-models", json={"id": created["id"], "kind": "embedding", "displayName": None, "contextWindow": 8}
    )
    assert changed.status_code == 200
    assert changed.json()["kind"] == "embedding" and changed.json()["contextWindow"] == 8
    assert (await admin.delete("/api/provider-models", params={"id": created["id"]})).json() == {
        "id": created["id"],
        "deleted": True,
    }
    assert (await admin.delete("/api/provider-models", params={"id": created["id"]})).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "x"}, "provider"),
        ({"provider": "openai"}, "model"),
        ({"provider": "no-such", "model": "x"}, "provider"),
        ({"provider": "openai", "model": ""}, "model"),
        ({"provider": "openai", "model": "has space"}, "model"),
        ({"provider": "openai", "model": "x", "kind": "video"}, "kind"),
        ({"provider": "openai", "model": "x", "contextWindow": 0}, "contextWindow"),
        ({"provider": "openai", "model": "x", "maxOutputTokens": "many"}, "maxOutputTokens"),
        ({"provider": "openai", "model": "x", "capabilities": {"teleport": True}}, "capabilities.teleport"),
        ({"provider": "openai", "model": "x", "capabilities": {"tools": "yes"}}, "capabilities"),
        ({"provider": "openai", "model": "x", "displayName": "   "}, "displayName"),
        ({"provider": "openai", "model": "x", "hidden": "no"}, "hidden"),
        ({"provider": "openai", "model": "x", "unknown": 1}, "unknown"),
    ],
)
async def test_bad_creates_name_the_field_and_write_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, body: dict[str, Any], field: str
) -> None:
    response = await admin.post("/api/provider-models", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"].startswith(field)
    assert await pool.fetchval("SELECT count(*) FROM provider_models") == 0
    assert await audit_actions(pool) == []


async def test_bad_updates_and_deletes(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    created = (await admin.post("/api/provider-models", json={"provider": "openai", "model": "mine"})).json()
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"provider": "openai", "model": "mine"}, 400, "body"),
        ({"model": "mine", "hidden": True}, 400, "provider"),
        ({"provider": "openai", "hidden": True}, 400, "model"),
        ({"id": created["id"], "provider": "openai", "hidden": True}, 400, "id"),
        ({"id": created["id"], "kind": "video"}, 400, "kind"),
        ({"id": MISSING, "hidden": True}, 404, None),
        ({"id": "not-a-uuid", "hidden": True}, 404, None),
        ({"provider": "openai", "model": "never-added", "hidden": True}, 404, None),
        ({"provider": "nope", "model": "x", "hidden": True}, 400, "provider"),
    ]
    for body, status, field in cases:
        response = await admin.patch("/api/provider-models", json=body)
        assert response.status_code == status, (body, response.text)
        if field is not None:
            assert response.json()["error"]["details"][0]["field"] == field
    assert (await admin.delete("/api/provider-models")).status_code == 400
    assert (await admin.delete("/api/provider-models", params={"provider": "openai"})).status_code == 400
    assert (
        await admin.delete("/api/provider-models", params={"provider": "openai", "model": "nope"})
    ).status_code == 404
    assert (await admin.delete("/api/provider-models", params={"id": MISSING})).status_code == 404
    assert (await admin.get("/api/provider-models", params={"limit": 0})).status_code == 400
    assert await audit_actions(pool) == ["provider_model.created"]
