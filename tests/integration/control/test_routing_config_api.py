"""/api/models/alias and /api/models/catalog against the real Postgres and Redis."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tests.integration.control.routing_support import (
    actions,
    assert_names_field,
    audit_rows,
    make_alias,
    make_combo,
    make_connection,
    make_node,
    published,
    version,
)


async def test_aliases_are_set_read_listed_deleted_and_published(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    start = await version(redis)
    response = await admin.put("/api/models/alias", json={"alias": "fast", "model": "openai/gpt-4o-mini"})
    assert response.status_code == 200
    assert response.json() == {"alias": "fast", "model": "openai/gpt-4o-mini"}
    assert await version(redis) > start
    assert (await published(redis)).aliases == {"fast": "openai/gpt-4o-mini"}

    several = await admin.post(
        "/api/models/alias", json={"aliases": {"smart": "anthropic/claude-sonnet-4-5", "fast": "gpt-4o"}}
    )
    assert several.status_code == 201
    assert several.json() == {"aliases": {"smart": "anthropic/claude-sonnet-4-5", "fast": "gpt-4o"}}
    listing = await admin.get("/api/models/alias")
    assert listing.status_code == 200
    assert listing.json() == {"aliases": {"fast": "gpt-4o", "smart": "anthropic/claude-sonnet-4-5"}}
    one = await admin.get("/api/models/alias", params={"alias": "smart"})
    assert one.json() == {"alias": "smart", "model": "anthropic/claude-sonnet-4-5"}
    assert (await published(redis)).aliases == {"fast": "gpt-4o", "smart": "anthropic/claude-sonnet-4-5"}

    deleted = await admin.delete("/api/models/alias", params={"alias": "fast"})
    assert deleted.status_code == 200
    assert deleted.json() == {"id": "fast", "deleted": True}
    assert (await published(redis)).aliases == {"smart": "anthropic/claude-sonnet-4-5"}
    assert (await admin.get("/api/models/alias", params={"alias": "fast"})).status_code == 404
    assert (await admin.delete("/api/models/alias", params={"alias": "fast"})).status_code == 404
    assert_names_field(await admin.delete("/api/models/alias"), "alias")
    assert await actions(pool, "alias") == ["alias.created", "alias.created", "alias.updated", "alias.deleted"]
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'alias.updated'")
    assert row is not None
    assert row["target_type"] == "model_alias"
    assert row["target_id"] == "fast"
    assert '"openai/gpt-4o-mini"' in row["before"]
    assert '"gpt-4o"' in row["after"]


async def test_alias_targets_resolve_every_way_a_model_is_addressed(admin: AsyncTestClient, redis: Redis) -> None:
    await make_node(admin, "mycorp")
    await make_connection(admin, "openai", models=["ft:my-tune"], defaultModel="my-default")
    await make_combo(admin, "team", "openai/gpt-4o")
    targets = {
        "a-catalog": "openai/gpt-4o",
        "a-catalog-alias": "oai/gpt-4o",  # a catalog provider's short alias
        "a-slashes": "nebius/Qwen/Qwen3-Embedding-8B",  # the model part may contain slashes
        "a-node": "mycorp/corp-large",
        "a-node-any-model": "mycorp/anything",
        "a-combo": "team",
        "a-alias": "a-catalog",
        "a-bare": "claude-haiku-4-5",  # a bare model a catalog provider lists
        "a-bare-slashed": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "a-connection-model": "ft:my-tune",
        "a-default-model": "my-default",
        "a-node-model": "corp-large",
    }
    for alias, model in targets.items():
        await make_alias(admin, alias, model)
    assert (await published(redis)).aliases == targets


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alias": "bad name", "model": "openai/gpt-4o"}, "alias"),
        ({"alias": "-dash-first", "model": "openai/gpt-4o"}, "alias"),
        ({"alias": "x" * 129, "model": "openai/gpt-4o"}, "alias"),
        ({"alias": "openai/fast", "model": "openai/gpt-4o"}, "alias"),
        ({"alias": "", "model": "openai/gpt-4o"}, "alias"),
        ({"model": "openai/gpt-4o"}, "alias"),
        ({"alias": "fast"}, "model"),
        ({"alias": "fast", "model": "nope/gpt-4o"}, "model"),
        ({"alias": "fast", "model": "no-such-model"}, "model"),
        ({"alias": "fast", "model": "openai/"}, "model"),
        ({"alias": "fast", "model": "openai/gpt\n4o"}, "model"),
        ({"alias": "fast", "model": "fast"}, "model"),  # itself: a cycle
        ({"alias": "fast", "model": 42}, "model"),
        ({"alias": "fast", "model": "openai/gpt-4o", "extra": 1}, "extra"),
        ({"alias": "fast", "model": "openai/gpt-4o", "aliases": {"b": "openai/gpt-4o"}}, "aliases"),
        ({"aliases": {}}, "aliases"),
        ({"aliases": {"ok": "openai/gpt-4o", "bad": "nowhere"}}, "aliases.bad"),
        ({"aliases": {"ok": "openai/gpt-4o", "bad one": "openai/gpt-4o"}}, "aliases.bad one"),
        ({"aliases": {"x": "y", "y": "x"}}, "aliases.x"),
    ],
)
@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_invalid_aliases_name_the_field_and_write_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis, method: str, body: dict[str, object], field: str
) -> None:
    before = await version(redis)
    response = await admin.request(method, "/api/models/alias", json=body)
    assert_names_field(response, field)
    assert await pool.fetchval("SELECT count(*) FROM model_aliases") == 0
    assert await audit_rows(pool, "alias") == 0
    assert await version(redis) == before


async def test_alias_chains_are_at_most_four_long_and_never_cycle(admin: AsyncTestClient, redis: Redis) -> None:
    await make_alias(admin, "a4", "openai/gpt-4o")
    await make_alias(admin, "a3", "a4")
    await make_alias(admin, "a2", "a3")
    await make_alias(admin, "a1", "a2")  # a1 -> a2 -> a3 -> a4 -> openai/gpt-4o: four aliases, the edge's limit
    too_long = await admin.put("/api/models/alias", json={"alias": "a0", "model": "a1"})
    assert_names_field(too_long, "model")
    assert "longer than 4" in too_long.json()["error"]["message"]
    # lengthening a chain from its far end is caught too, on the alias being changed
    await make_alias(admin, "a5", "openai/gpt-4o")
    from_below = await admin.put("/api/models/alias", json={"alias": "a4", "model": "a5"})
    assert_names_field(from_below, "model")
    assert "a1 -> a2 -> a3 -> a4 -> a5" in from_below.json()["error"]["message"]
    cycle = await admin.put("/api/models/alias", json={"alias": "a4", "model": "a2"})
    assert_names_field(cycle, "model")
    assert "cycle" in cycle.json()["error"]["message"]
    assert "a4 -> a2 -> a3 -> a4" in cycle.json()["error"]["message"]
    assert (await published(redis)).aliases["a4"] == "openai/gpt-4o"
    # within one request, aliases may point at each other in any order
    batch = await admin.post("/api/models/alias", json={"aliases": {"x": "y", "y": "openai/gpt-4o"}})
    assert batch.status_code == 201, batch.text


async def test_aliases_and_combos_share_one_namespace(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    await make_combo(admin, "team", "openai/gpt-4o")
    clash = await admin.put("/api/models/alias", json={"alias": "team", "model": "openai/gpt-4o"})
    assert_names_field(clash, "alias", status=409)
    batch = await admin.put("/api/models/alias", json={"aliases": {"fine": "openai/gpt-4o", "team": "gpt-4o"}})
    assert_names_field(batch, "aliases.team", status=409)
    await make_alias(admin, "fast", "openai/gpt-4o-mini")
    combo = await admin.post("/api/combos", json={"name": "fast", "strategy": "priority", "models": ["openai/gpt-4o"]})
    assert_names_field(combo, "name", status=409)
    assert await pool.fetchval("SELECT count(*) FROM model_aliases") == 1
    assert await pool.fetchval("SELECT count(*) FROM combos") == 1


async def test_an_alias_another_alias_needs_cannot_be_deleted(admin: AsyncTestClient, redis: Redis) -> None:
    await make_alias(admin, "inner", "openai/gpt-4o")
    await make_alias(admin, "outer", "inner")
    refused = await admin.delete("/api/models/alias", params={"alias": "inner"})
    assert refused.status_code == 409
    assert "'outer'" in refused.json()["error"]["message"]
    assert (await published(redis)).aliases == {"inner": "openai/gpt-4o", "outer": "inner"}
    # an alias that shadows a catalog model may go: its referrer still resolves to the bare model
    await make_alias(admin, "gpt-4o", "anthropic/claude-sonnet-4-5")
    await make_alias(admin, "cheap", "gpt-4o")
    assert (await admin.delete("/api/models/alias", params={"alias": "gpt-4o"})).status_code == 200
    assert (await admin.delete("/api/models/alias", params={"alias": "outer"})).status_code == 200
    assert (await admin.delete("/api/models/alias", params={"alias": "inner"})).status_code == 200
    assert (await published(redis)).aliases == {"cheap": "gpt-4o"}


async def test_upsert_replaces_the_target(admin: AsyncTestClient, redis: Redis) -> None:
    await make_alias(admin, "fast", "openai/gpt-4o-mini")
    await make_alias(admin, "fast", "groq/llama-3.1-8b-instant")
    assert (await admin.get("/api/models/alias")).json() == {"aliases": {"fast": "groq/llama-3.1-8b-instant"}}
    assert (await published(redis)).aliases == {"fast": "groq/llama-3.1-8b-instant"}


async def test_catalog_lists_providers_models_nodes_and_combos(admin: AsyncTestClient) -> None:
    empty = (await admin.get("/api/models/catalog")).json()
    assert empty["combos"] == []
    openai = next(p for p in empty["providers"] if p["id"] == "openai")
    assert openai["name"] == "OpenAI"
    assert openai["dialect"] == "openai_chat"
    assert openai["configured"] is False
    assert {"id": "openai/gpt-4o", "model": "gpt-4o", "type": "chat"} in openai["models"]
    assert not any(p["configured"] for p in empty["providers"])

    await make_connection(admin, "openai", models=["ft:tuned", "gpt-4o"], defaultModel="my-default")
    await make_connection(admin, "anthropic", isActive=False)
    await make_node(admin, "mycorp", models=["corp-large", "corp-small"])
    await make_combo(admin, "team", "openai/gpt-4o")
    await make_combo(admin, "alpha", "mycorp/corp-large")
    catalog = (await admin.get("/api/models/catalog")).json()
    by_id = {p["id"]: p for p in catalog["providers"]}
    assert by_id["openai"]["configured"] is True
    openai_ids = [m["id"] for m in by_id["openai"]["models"]]
    assert {"openai/ft:tuned", "openai/my-default", "openai/gpt-4o"} <= set(openai_ids)
    assert len(openai_ids) == len(set(openai_ids))  # listed once each
    assert by_id["anthropic"]["configured"] is False  # only an inactive connection
    assert by_id["mycorp"] == {
        "id": "mycorp",
        "name": "Corp gateway",
        "dialect": "anthropic",
        "configured": True,
        "models": [
            {"id": "mycorp/corp-large", "model": "corp-large", "type": "chat"},
            {"id": "mycorp/corp-small", "model": "corp-small", "type": "chat"},
        ],
    }
    assert catalog["combos"] == ["alpha", "team"]
    assert [p["id"] for p in catalog["providers"]][-1] == "mycorp"  # nodes after the catalog


async def test_routing_endpoints_need_the_admin(control: AsyncTestClient) -> None:
    for path in (
        "/api/models/alias",
        "/api/models/catalog",
        "/api/combos",
        "/api/policies",
        "/api/resilience",
        "/api/rate-limit",
        "/api/settings/idempotency",
    ):
        assert (await control.get(path)).status_code == 401, path
    assert (await control.put("/api/models/alias", json={"alias": "a", "model": "openai/gpt-4o"})).status_code == 401


async def test_openapi_lists_the_routing_endpoints(admin: AsyncTestClient) -> None:
    response = await admin.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/models/alias",
        "/api/models/catalog",
        "/api/combos",
        "/api/combos/{combo_id}",
        "/api/policies",
        "/api/policies/{policy_id}",
        "/api/resilience",
        "/api/rate-limit",
        "/api/settings/idempotency",
    ):
        assert path in paths, path
