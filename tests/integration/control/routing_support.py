"""Helpers shared by the routing-configuration API tests: the published snapshot, audit rows, fixtures' bodies."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.snapshot import Snapshot, SnapshotCodec
from shared.kv.config_channel import ConfigChannel
from tests.support.env import STORAGE_KEY

NIL_UUID = "00000000-0000-0000-0000-000000000000"
MISSING_IDS = (NIL_UUID, "not-a-uuid", "1")


async def published(redis: Redis) -> Snapshot:
    """The snapshot edges would read now, decoded as the edge does."""
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    return SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version)


async def version(redis: Redis) -> int:
    return await ConfigChannel(redis).current_version()


async def actions(pool: asyncpg.Pool, prefix: str) -> list[str]:
    rows = await pool.fetch("SELECT action FROM audit_log WHERE action LIKE $1 ORDER BY id", f"{prefix}.%")
    return [row["action"] for row in rows]


async def audit_rows(pool: asyncpg.Pool, prefix: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE $1", f"{prefix}.%"))


def assert_names_field(response: Any, field: str, status: int = 400) -> None:
    """The error answer has the status and names `field` in its message and details."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert field in error["message"], error
    assert any(field == detail["field"] or detail["field"].startswith(field) for detail in error["details"]), error


async def make_connection(admin: AsyncTestClient, provider: str = "openai", **extra: object) -> str:
    body: dict[str, object] = {
        "provider": provider,
        "name": f"{provider}-main",
        "apiKey": "sk-routing-test-key-0123456789",
        "baseUrl": "http://127.0.0.1:9000/v1",
    }
    body.update(extra)
    response = await admin.post("/api/providers", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_node(admin: AsyncTestClient, prefix: str = "mycorp", **extra: object) -> str:
    body: dict[str, object] = {
        "prefix": prefix,
        "name": "Corp gateway",
        "type": "anthropic-compatible",
        "baseUrl": "http://127.0.0.1:9100",
        "models": ["corp-large"],
    }
    body.update(extra)
    response = await admin.post("/api/provider-nodes", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_combo(admin: AsyncTestClient, name: str, *models: object, strategy: str = "priority") -> str:
    response = await admin.post("/api/combos", json={"name": name, "strategy": strategy, "models": list(models)})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_alias(admin: AsyncTestClient, alias: str, model: str) -> None:
    response = await admin.put("/api/models/alias", json={"alias": alias, "model": model})
    assert response.status_code == 200, response.text
