"""/api/pricing against the real Postgres and Redis; overrides read back from the published snapshot."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.snapshot import SnapshotCodec
from shared.kv.config_channel import ConfigChannel
from shared.providers.spec import Price
from shared.routing.config import EdgeConfig
from tests.support.env import STORAGE_KEY


async def edge_config(redis: Redis) -> EdgeConfig:
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    return EdgeConfig(SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version))


def row(table: dict[str, Any], provider: str, model: str) -> dict[str, Any] | None:
    found = [r for r in table["prices"] if r["provider"] == provider and r["model"] == model]
    return found[0] if found else None


async def test_the_table_merges_catalog_defaults_and_overrides(
    admin: AsyncTestClient, redis: Redis, pool: asyncpg.Pool
) -> None:
    table = (await admin.get("/api/pricing")).json()
    assert row(table, "openai", "gpt-4o") == {
        "provider": "openai",
        "model": "gpt-4o",
        "input": 2.5,
        "output": 10.0,
        "cached": 1.25,
        "reasoning": None,
        "source": "catalog",
    }
    changed = await admin.patch("/api/pricing", json={"provider": "oai", "model": "gpt-4o", "input": 1, "output": 4})
    assert changed.status_code == 200, changed.text
    assert changed.json()["prices"] == [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input": 1.0,
            "output": 4.0,
            "cached": 1.25,
            "reasoning": None,
            "source": "override",
        }
    ]
    table = (await admin.get("/api/pricing", params={"provider": "openai"})).json()
    assert row(table, "openai", "gpt-4o")["source"] == "override"  # type: ignore[index]
    assert row(table, "openai", "gpt-4o-mini")["source"] == "catalog"  # type: ignore[index]
    assert {r["provider"] for r in table["prices"]} == {"openai"}
    await admin.post(
        "/api/providers",
        json={"provider": "openai", "name": "m", "apiKey": "sk-p-000000000000", "baseUrl": "http://127.0.0.1:9/v1"},
    )
    [upstream] = (await edge_config(redis)).upstreams_of("openai")
    assert upstream.price("gpt-4o") == Price(1.0, 4.0, cached=1.25)
    assert upstream.price("gpt-4o-mini") == Price(0.15, 0.6, cached=0.075)
    audit = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'pricing.updated'")
    assert audit is not None and audit["target_id"] == "openai/gpt-4o" and audit["before"] is None


async def test_a_list_of_changes_applies_together_and_nulls_remove(admin: AsyncTestClient, redis: Redis) -> None:
    batch = [
        {"provider": "openai", "model": "custom-x", "input": 0.5, "output": 1.5, "cached": 0.1, "reasoning": 3},
        {"provider": "anthropic", "model": "claude-haiku-4-5", "output": 9},
    ]
    response = await admin.patch("/api/pricing", json={"prices": batch})
    assert response.status_code == 200, response.text
    haiku = row(response.json(), "anthropic", "claude-haiku-4-5")
    assert haiku == {
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "input": 1.0,
        "output": 9.0,
        "cached": 0.1,
        "reasoning": None,
        "source": "override",
    }
    assert row((await admin.get("/api/pricing")).json(), "openai", "custom-x")["reasoning"] == 3.0  # type: ignore[index]
    cleared = await admin.patch("/api/pricing", json={"provider": "openai", "model": "custom-x", "cached": None})
    assert cleared.json()["prices"][0]["cached"] is None and cleared.json()["prices"][0]["input"] == 0.5
    removed = await admin.patch(
        "/api/pricing", json={"provider": "anthropic", "model": "claude-haiku-4-5", "input": None, "output": None}
    )
    assert removed.json()["prices"][0]["source"] == "catalog"
    gone = await admin.delete("/api/pricing", params={"provider": "openai", "model": "custom-x"})
    assert gone.status_code == 200 and gone.json() == {"id": "openai/custom-x", "deleted": True}
    assert row((await admin.get("/api/pricing")).json(), "openai", "custom-x") is None
    assert (await admin.delete("/api/pricing", params={"provider": "openai", "model": "custom-x"})).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "x", "input": 1, "output": 1}, "provider"),
        ({"provider": "openai", "input": 1, "output": 1}, "model"),
        ({"provider": "nope", "model": "x", "input": 1, "output": 1}, "provider"),
        ({"provider": "openai", "model": "x y", "input": 1, "output": 1}, "model"),
        ({"provider": "openai", "model": "x", "input": -1, "output": 1}, "input"),
        ({"provider": "openai", "model": "x", "input": 1, "output": "cheap"}, "output"),
        ({"provider": "openai", "model": "x", "input": 1, "output": 1e9}, "output"),
        ({"provider": "openai", "model": "x", "input": 1}, "output"),  # no catalog price to keep
        ({"provider": "openai", "model": "gpt-4o", "input": None, "output": 1}, "input"),
        ({"provider": "openai", "model": "x", "input": 1, "output": 1, "cache": 1}, "cache"),
        (
            {
                "prices": [
                    {"provider": "openai", "model": "x", "input": 1, "output": 1},
                    {"provider": "openai", "model": "y", "input": -2, "output": 1},
                ]
            },
            "prices[1].input",
        ),
        (
            {
                "prices": [
                    {"provider": "openai", "model": "x", "input": 1, "output": 1},
                    {"provider": "oai", "model": "x", "input": 2, "output": 1},
                ]
            },
            "prices[1].model",
        ),
        ({"prices": [{"provider": "openai", "model": "x", "input": 1, "output": 1}], "model": "y"}, "prices"),
        ({"prices": [{"provider": "zzz", "model": "x", "input": 1, "output": 1}]}, "prices[0].provider"),
        ({"prices": []}, "prices"),
        ([{"provider": "openai", "model": "x", "input": 1, "output": 1}], "data"),  # the body itself
    ],
)
async def test_bad_changes_name_the_field_and_write_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, body: Any, field: str
) -> None:
    version = await pool.fetchval("SELECT version FROM config_version")
    response = await admin.patch("/api/pricing", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["details"][0]["field"]
    assert await pool.fetchval("SELECT count(*) FROM pricing") == 0
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'pricing.%'") == 0
    assert await pool.fetchval("SELECT version FROM config_version") == version


async def test_removing_what_is_not_overridden_is_404(admin: AsyncTestClient) -> None:
    response = await admin.patch(
        "/api/pricing", json={"provider": "openai", "model": "gpt-4o", "input": None, "output": None}
    )
    assert response.status_code == 404
    assert (await admin.delete("/api/pricing", params={"provider": "openai"})).status_code == 400
    assert (await admin.delete("/api/pricing", params={"provider": "zzz", "model": "x"})).status_code == 400
