"""/api/combos against the real Postgres and Redis: steps resolve, references stay acyclic and shallow."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.config.snapshot import ComboStep
from tests.integration.control.routing_support import (
    MISSING_IDS,
    NIL_UUID,
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

SPEC_EXAMPLE = {
    "name": "smart",
    "strategy": "priority",
    "models": ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"],
}


async def test_the_spec_example_is_created_listed_read_and_published(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    start = await version(redis)
    response = await admin.post("/api/combos", json=SPEC_EXAMPLE)
    assert response.status_code == 201, response.text
    combo = response.json()
    assert combo["name"] == "smart"
    assert combo["strategy"] == "priority"
    assert combo["isActive"] is True
    assert combo["models"] == [{"model": "openai/gpt-4o-mini"}, {"model": "anthropic/claude-sonnet-4-5"}]
    assert (await admin.get(f"/api/combos/{combo['id']}")).json() == combo
    listing = (await admin.get("/api/combos")).json()
    assert listing == {"combos": [combo], "total": 1}
    assert await version(redis) > start
    [published_combo] = (await published(redis)).combos
    assert published_combo.id == combo["id"]
    assert published_combo.name == "smart"
    assert published_combo.steps == (
        ComboStep(model="openai/gpt-4o-mini"),
        ComboStep(model="anthropic/claude-sonnet-4-5"),
    )
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'combo.created'")
    assert row is not None
    assert row["target_type"] == "combo"
    assert row["target_id"] == combo["id"]


async def test_object_steps_are_normalised_to_what_the_snapshot_carries(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    connection = await make_connection(admin, "openai")
    await make_node(admin, "mycorp")
    await make_combo(admin, "base", "groq/llama-3.1-8b-instant")
    models = [
        {"provider": "oai", "model": "gpt-4o", "weight": 5},  # a catalog alias becomes the provider id
        {"model": "anthropic/claude-sonnet-4-5"},
        {"provider": "openrouter", "model": "openai/gpt-4o-mini"},  # the model part keeps its own slashes
        {"provider": "openai", "model": "openai/gpt-4.1"},  # the provider prefix is not doubled
        {"provider": "openai", "model": "gpt-4o-mini", "connectionId": connection.upper()},
        {"combo": "base", "weight": 2},
        "base",
        "mycorp/corp-large",
        {"provider": "mycorp", "model": "corp-small"},
        "claude/claude-haiku-4-5",
    ]
    response = await admin.post("/api/combos", json={"name": "mixed", "strategy": "weighted", "models": models})
    assert response.status_code == 201, response.text
    expected = [
        {"model": "openai/gpt-4o", "weight": 5},
        {"model": "anthropic/claude-sonnet-4-5"},
        {"model": "openrouter/openai/gpt-4o-mini"},
        {"model": "openai/gpt-4.1"},
        {"model": "openai/gpt-4o-mini", "connectionId": connection},
        {"combo": "base", "weight": 2},
        {"combo": "base"},
        {"model": "mycorp/corp-large"},
        {"model": "mycorp/corp-small"},
        {"model": "anthropic/claude-haiku-4-5"},
    ]
    assert response.json()["models"] == expected
    stored = await pool.fetchval("SELECT steps::text FROM combos WHERE name = 'mixed'")
    assert '"connectionId"' in stored
    mixed = next(c for c in (await published(redis)).combos if c.name == "mixed")
    assert mixed.strategy == "weighted"
    assert mixed.steps[0] == ComboStep(model="openai/gpt-4o", weight=5)
    assert mixed.steps[4] == ComboStep(model="openai/gpt-4o-mini", connection_id=connection)
    assert mixed.steps[5] == ComboStep(combo="base", weight=2)
    assert mixed.steps[6] == ComboStep(combo="base")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SPEC_EXAMPLE, "strategy": "fastest"}, "strategy"),
        ({"name": "x", "models": ["openai/gpt-4o"]}, "strategy"),
        ({**SPEC_EXAMPLE, "models": []}, "models"),
        ({"name": "x", "strategy": "priority"}, "models"),
        ({**SPEC_EXAMPLE, "name": "bad name"}, "name"),
        ({**SPEC_EXAMPLE, "name": "openai/smart"}, "name"),
        ({**SPEC_EXAMPLE, "name": "x" * 129}, "name"),
        ({**SPEC_EXAMPLE, "name": ""}, "name"),
        ({**SPEC_EXAMPLE, "models": ["nope/gpt-4o"]}, "models[0]"),
        ({**SPEC_EXAMPLE, "models": ["openai/gpt-4o", "just-a-model"]}, "models[1]"),
        ({**SPEC_EXAMPLE, "models": ["openai/"]}, "models[0]"),
        ({**SPEC_EXAMPLE, "models": [42]}, "models[0]"),
        ({**SPEC_EXAMPLE, "models": [{"provider": "nope", "model": "m"}]}, "models[0].provider"),
        ({**SPEC_EXAMPLE, "models": [{"provider": "openai"}]}, "models[0].model"),
        ({**SPEC_EXAMPLE, "models": [{"model": "gpt-4o"}]}, "models[0].model"),
        ({**SPEC_EXAMPLE, "models": [{"provider": "openai", "model": "gpt\n4o"}]}, "models[0].model"),
        ({**SPEC_EXAMPLE, "models": [{"combo": "missing"}]}, "models[0].combo"),
        ({**SPEC_EXAMPLE, "models": [{"combo": "x", "model": "openai/gpt-4o"}]}, "models[0]"),
        ({**SPEC_EXAMPLE, "models": [{"model": "openai/gpt-4o", "weight": 0}]}, "models[0].weight"),
        ({**SPEC_EXAMPLE, "models": [{"model": "openai/gpt-4o", "weight": 1001}]}, "models[0].weight"),
        ({**SPEC_EXAMPLE, "models": [{"model": "openai/gpt-4o", "connectionId": "nope"}]}, "models[0].connectionId"),
        ({**SPEC_EXAMPLE, "models": [{"model": "openai/gpt-4o", "connectionId": NIL_UUID}]}, "models[0].connectionId"),
        ({**SPEC_EXAMPLE, "models": [{"model": "openai/gpt-4o", "priority": 1}]}, "models[0]"),
        ({**SPEC_EXAMPLE, "steps": []}, "steps"),
        ({**SPEC_EXAMPLE, "models": ["smart"]}, "models"),  # itself: a cycle
    ],
)
async def test_invalid_combos_name_the_field_and_write_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis, body: dict[str, object], field: str
) -> None:
    before = await version(redis)
    assert_names_field(await admin.post("/api/combos", json=body), field)
    assert await pool.fetchval("SELECT count(*) FROM combos") == 0
    assert await audit_rows(pool, "combo") == 0
    assert await version(redis) == before


async def test_a_pinned_connection_must_belong_to_the_step_provider(admin: AsyncTestClient) -> None:
    anthropic = await make_connection(admin, "anthropic")
    await make_node(admin, "mycorp")
    for step in (
        {"provider": "openai", "model": "gpt-4o", "connectionId": anthropic},
        {"model": "mycorp/corp-large", "connectionId": anthropic},
    ):
        response = await admin.post("/api/combos", json={**SPEC_EXAMPLE, "models": [step]})
        assert_names_field(response, "models[0].connectionId")
        assert "belongs to provider 'anthropic'" in response.json()["error"]["message"]
    ok = await admin.post(
        "/api/combos",
        json={**SPEC_EXAMPLE, "models": [{"model": "claude/claude-sonnet-4-5", "connectionId": anthropic}]},
    )
    assert ok.status_code == 201, ok.text


async def test_names_are_unique_and_not_aliases(admin: AsyncTestClient) -> None:
    await make_combo(admin, "smart", "openai/gpt-4o")
    assert_names_field(await admin.post("/api/combos", json=SPEC_EXAMPLE), "name", status=409)
    await make_alias(admin, "fast", "openai/gpt-4o-mini")
    assert_names_field(await admin.post("/api/combos", json={**SPEC_EXAMPLE, "name": "fast"}), "name", status=409)
    other = await make_combo(admin, "other", "openai/gpt-4o")
    assert_names_field(await admin.put(f"/api/combos/{other}", json={"name": "smart"}), "name", status=409)
    assert_names_field(await admin.put(f"/api/combos/{other}", json={"name": "fast"}), "name", status=409)


async def test_references_never_form_a_cycle(admin: AsyncTestClient, redis: Redis) -> None:
    a = await make_combo(admin, "a", "openai/gpt-4o")
    await make_combo(admin, "b", "a", "openai/gpt-4o-mini")
    await make_combo(admin, "c", {"combo": "b"})
    response = await admin.put(f"/api/combos/{a}", json={"models": ["c"]})
    assert_names_field(response, "models")
    message = response.json()["error"]["message"]
    assert "cycle" in message
    assert "a -> c -> b -> a" in message
    itself = await admin.put(f"/api/combos/{a}", json={"models": ["openai/gpt-4o", "a"]})
    assert_names_field(itself, "models")
    assert "a -> a" in itself.json()["error"]["message"]
    created_self = await admin.post("/api/combos", json={"name": "loop", "strategy": "random", "models": ["loop"]})
    assert "loop -> loop" in created_self.json()["error"]["message"]
    a_published = next(combo for combo in (await published(redis)).combos if combo.name == "a")
    assert a_published.steps == (ComboStep(model="openai/gpt-4o"),)


async def test_nesting_is_at_most_five_deep(admin: AsyncTestClient) -> None:
    first = await make_combo(admin, "c1", "openai/gpt-4o")
    for level in range(2, 6):
        await make_combo(admin, f"c{level}", f"c{level - 1}")  # c5 -> c4 -> c3 -> c2 -> c1: five deep
    too_deep = await admin.post("/api/combos", json={"name": "c6", "strategy": "priority", "models": ["c5"]})
    assert_names_field(too_deep, "models")
    assert "c6 -> c5 -> c4 -> c3 -> c2 -> c1" in too_deep.json()["error"]["message"]
    # deepening from below is refused as well: c1 gaining a child would put c5 six deep
    await make_combo(admin, "c0", "openai/gpt-4o-mini")
    below = await admin.put(f"/api/combos/{first}", json={"models": ["c0"]})
    assert_names_field(below, "models")
    assert "6 deep" in below.json()["error"]["message"]


async def test_update_changes_only_the_fields_present(admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis) -> None:
    ident = await make_combo(admin, "smart", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5")
    strategy = await admin.put(f"/api/combos/{ident}", json={"strategy": "round-robin"})
    assert strategy.status_code == 200
    assert strategy.json()["strategy"] == "round-robin"
    assert strategy.json()["models"] == [{"model": "openai/gpt-4o-mini"}, {"model": "anthropic/claude-sonnet-4-5"}]
    steps = await admin.put(f"/api/combos/{ident}", json={"models": [{"model": "openai/gpt-4o", "weight": 9}]})
    assert steps.json()["models"] == [{"model": "openai/gpt-4o", "weight": 9}]
    assert steps.json()["strategy"] == "round-robin"
    off = await admin.put(f"/api/combos/{ident}", json={"isActive": False, "name": "smarter"})
    assert off.json()["isActive"] is False
    assert off.json()["name"] == "smarter"
    [combo] = (await published(redis)).combos
    assert (combo.name, combo.strategy, combo.is_active) == ("smarter", "round-robin", False)
    assert combo.steps == (ComboStep(model="openai/gpt-4o", weight=9),)
    assert_names_field(await admin.put(f"/api/combos/{ident}", json={"strategy": "best"}), "strategy")
    assert_names_field(await admin.put(f"/api/combos/{ident}", json={"models": []}), "models")
    assert_names_field(await admin.put(f"/api/combos/{ident}", json={"colour": "red"}), "colour")
    for missing in MISSING_IDS:
        assert (await admin.get(f"/api/combos/{missing}")).status_code == 404
        assert (await admin.put(f"/api/combos/{missing}", json={"strategy": "p2c"})).status_code == 404
        assert (await admin.delete(f"/api/combos/{missing}")).status_code == 404
    assert await actions(pool, "combo") == ["combo.created", "combo.updated", "combo.updated", "combo.updated"]
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'combo.updated' ORDER BY id LIMIT 1")
    assert row is not None
    assert '"priority"' in row["before"]
    assert '"round-robin"' in row["after"]


async def test_a_referenced_combo_is_neither_deleted_nor_renamed(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    inner = await make_combo(admin, "inner", "openai/gpt-4o")
    outer = await make_combo(admin, "outer", "inner", "openai/gpt-4o-mini")
    refused = await admin.delete(f"/api/combos/{inner}")
    assert refused.status_code == 409
    assert "combo 'outer'" in refused.json()["error"]["message"]
    renamed = await admin.put(f"/api/combos/{inner}", json={"name": "core"})
    assert renamed.status_code == 409
    assert "combo 'outer'" in renamed.json()["error"]["message"]
    await make_alias(admin, "team", "outer")
    by_alias = await admin.delete(f"/api/combos/{outer}")
    assert by_alias.status_code == 409
    assert "alias 'team'" in by_alias.json()["error"]["message"]
    assert len((await published(redis)).combos) == 2

    assert (await admin.delete("/api/models/alias", params={"alias": "team"})).status_code == 200
    deleted = await admin.delete(f"/api/combos/{outer}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": outer, "deleted": True}
    assert (await admin.delete(f"/api/combos/{inner}")).status_code == 200
    assert (await published(redis)).combos == ()
    assert (await admin.get(f"/api/combos/{inner}")).status_code == 404
    assert await actions(pool, "combo") == ["combo.created", "combo.created", "combo.deleted", "combo.deleted"]
