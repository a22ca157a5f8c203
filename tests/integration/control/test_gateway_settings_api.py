"""/api/settings, /api/settings/{ip-filter,thinking-budget,system-prompt,require-login} against real Postgres and Redis."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared import jsonx
from shared.config.gateway_settings import (
    GeneralSettings,
    IpFilterSettings,
    SystemPromptSettings,
    ThinkingBudgetSettings,
    typed_setting,
)
from tests.integration.control.routing_support import actions, assert_names_field, audit_rows, published, version


async def stored(pool: asyncpg.Pool, key: str) -> object:
    raw = await pool.fetchval("SELECT value::text FROM settings WHERE key = $1", key)
    return None if raw is None else jsonx.loads(raw)


# general settings fields these tests do not change, at their defaults
OTHER_GENERAL_DEFAULTS = {"backupIntervalHours": 24, "backupRetention": 7, "auditRetentionDays": 365}


async def last_audit(pool: asyncpg.Pool) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'settings.updated' ORDER BY id DESC LIMIT 1")
    assert row is not None
    return row


async def test_general_settings_put_replaces_and_patch_merges(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    assert (await admin.get("/api/settings")).json() == {
        **OTHER_GENERAL_DEFAULTS,
        "requireLogin": True,
        "usageRetentionDays": None,
    }
    start = await version(redis)
    patched = await admin.patch("/api/settings", json={"usageRetentionDays": 30})
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**OTHER_GENERAL_DEFAULTS, "requireLogin": True, "usageRetentionDays": 30}
    assert await version(redis) > start
    patched = await admin.patch("/api/settings", json={"requireLogin": False})
    assert patched.json() == {**OTHER_GENERAL_DEFAULTS, "requireLogin": False, "usageRetentionDays": 30}
    # PUT replaces: what it leaves out returns to the default
    replaced = await admin.put("/api/settings", json={"usageRetentionDays": 7})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {**OTHER_GENERAL_DEFAULTS, "requireLogin": True, "usageRetentionDays": 7}
    assert await stored(pool, "general") == {"usageRetentionDays": 7}
    assert typed_setting((await published(redis)).settings, "general", GeneralSettings) == GeneralSettings(
        usage_retention_days=7
    )
    assert await actions(pool, "settings") == ["settings.updated"] * 3
    row = await last_audit(pool)
    assert (row["target_type"], row["target_id"], row["actor"]) == ("settings", "general", "admin")
    assert jsonx.loads(row["before"]) == {**OTHER_GENERAL_DEFAULTS, "requireLogin": False, "usageRetentionDays": 30}
    assert jsonx.loads(row["after"]) == {**OTHER_GENERAL_DEFAULTS, "requireLogin": True, "usageRetentionDays": 7}
    assert row["request_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"usageRetentionDays": 0}, "usageRetentionDays"),
        ({"usageRetentionDays": 3651}, "usageRetentionDays"),
        ({"usageRetentionDays": "30"}, "usageRetentionDays"),
        ({"auditRetentionDays": 29}, "auditRetentionDays"),
        ({"auditRetentionDays": 3651}, "auditRetentionDays"),
        ({"requireLogin": "no"}, "requireLogin"),
        ({"requireLogin": None}, "requireLogin"),
        ({"logLevel": "debug"}, "logLevel"),
        ({"backupIntervalHours": 0}, "backupIntervalHours"),
        ({"backupRetention": 0}, "backupRetention"),
    ],
)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_invalid_general_settings_are_422_naming_the_field(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis, method: str, body: dict[str, Any], field: str
) -> None:
    before = await version(redis)
    assert_names_field(await admin.request(method, "/api/settings", json=body), field, status=422)
    assert await stored(pool, "general") is None
    assert await audit_rows(pool, "settings") == 0
    assert await version(redis) == before


async def test_bodies_that_are_not_objects_are_400(admin: AsyncTestClient) -> None:
    paths = ["/api/settings", "/api/settings/ip-filter", "/api/settings/thinking-budget", "/api/settings/system-prompt"]
    for path in [*paths, "/api/settings/require-login"]:
        assert (await admin.put(path, json=[1])).status_code == 400, path
        malformed = await admin.put(path, content=b"{nope", headers={"content-type": "application/json"})
        assert malformed.status_code == 400, path


async def test_ip_filter_lists_are_validated_stored_and_published(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    assert (await admin.get("/api/settings/ip-filter")).json() == {"allow": [], "block": [], "trustedProxies": []}
    body = {"block": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"], "trustedProxies": ["10.0.0.0/8"]}
    put = await admin.put("/api/settings/ip-filter", json=body)
    assert put.status_code == 200, put.text
    assert put.json() == {"allow": [], **body}
    # a second PUT sets the list it names; the others keep theirs
    second = await admin.put("/api/settings/ip-filter", json={"allow": ["192.0.2.0/24", "::1"]})
    expected = {"allow": ["192.0.2.0/24", "::1"], **body}
    assert second.json() == expected
    assert (await admin.get("/api/settings/ip-filter")).json() == expected
    snapshot = await published(redis)
    assert typed_setting(snapshot.settings, "ipFilter", IpFilterSettings) == IpFilterSettings(
        allow=("192.0.2.0/24", "::1"),
        block=("203.0.113.0/24", "2001:db8::/32", "198.51.100.7"),
        trusted_proxies=("10.0.0.0/8",),
    )
    row = await last_audit(pool)
    assert row["target_id"] == "ipFilter"
    assert jsonx.loads(row["after"])["allow"] == ["192.0.2.0/24", "::1"]
    cleared = await admin.put("/api/settings/ip-filter", json={"allow": [], "block": []})
    assert cleared.json() == {"allow": [], "block": [], "trustedProxies": ["10.0.0.0/8"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"block": ["10.0.0.1/8"]}, "block[0]"),  # host bits set
        ({"block": ["203.0.113.0/24", "300.1.1.1"]}, "block[1]"),
        ({"allow": ["2001:db8::/129"]}, "allow[0]"),
        ({"allow": ["example.com"]}, "allow[0]"),
        ({"allow": ["010.0.0.1"]}, "allow[0]"),  # leading zeros: octal in some parsers, refused here
        ({"trustedProxies": [""]}, "trustedProxies[0]"),
        ({"allow": [5]}, "allow[0]"),
        ({"allow": "10.0.0.0/8"}, "allow"),
        ({"deny": ["10.0.0.0/8"]}, "deny"),
    ],
)
async def test_invalid_ip_filter_entries_are_422_naming_the_entry(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis, body: dict[str, Any], field: str
) -> None:
    before = await version(redis)
    assert_names_field(await admin.put("/api/settings/ip-filter", json=body), field, status=422)
    assert await stored(pool, "ipFilter") is None
    assert await version(redis) == before


async def test_thinking_budget_modes(admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis) -> None:
    assert (await admin.get("/api/settings/thinking-budget")).json() == {"mode": "passthrough", "tokens": None}
    custom = await admin.put("/api/settings/thinking-budget", json={"mode": "custom", "tokens": 4096})
    assert custom.status_code == 200, custom.text
    assert custom.json() == {"mode": "custom", "tokens": 4096}
    auto = await admin.put("/api/settings/thinking-budget", json={"mode": "auto"})
    assert auto.json() == {"mode": "auto", "tokens": 4096}  # tokens kept for a later switch back to custom
    assert typed_setting((await published(redis)).settings, "thinkingBudget", ThinkingBudgetSettings) == (
        ThinkingBudgetSettings(mode="auto", tokens=4096)
    )
    assert (await last_audit(pool))["target_id"] == "thinkingBudget"
    for body, field in (
        ({"mode": "adaptive"}, "mode"),
        ({"mode": "custom", "tokens": 0}, "tokens"),
        ({"tokens": 131_073}, "tokens"),
        ({"tokens": 1.5}, "tokens"),
        ({"tokens": True}, "tokens"),
        ({"mode": "custom", "tokens": None}, "tokens"),
        ({"budget": 5}, "budget"),
    ):
        assert_names_field(await admin.put("/api/settings/thinking-budget", json=body), field, status=422)
    assert await stored(pool, "thinkingBudget") == {"mode": "auto", "tokens": 4096}


async def test_system_prompt_is_off_by_default_and_validated(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    defaults = {"enabled": False, "prompt": "", "mode": "prepend"}
    assert (await admin.get("/api/settings/system-prompt")).json() == defaults
    on = await admin.put("/api/settings/system-prompt", json={"enabled": True, "prompt": "Answer in French."})
    assert on.status_code == 200, on.text
    assert on.json() == {"enabled": True, "prompt": "Answer in French.", "mode": "prepend"}
    replaced = await admin.put("/api/settings/system-prompt", json={"mode": "replace"})
    assert replaced.json()["mode"] == "replace"
    assert typed_setting((await published(redis)).settings, "systemPrompt", SystemPromptSettings) == (
        SystemPromptSettings(enabled=True, prompt="Answer in French.", mode="replace")
    )
    for body, field in (
        ({"prompt": "   "}, "prompt"),  # enabled with nothing to say
        ({"prompt": "x" * 50_001}, "prompt"),
        ({"prompt": "a\u0000b"}, "prompt"),
        ({"mode": "insert"}, "mode"),
        ({"enabled": "yes"}, "enabled"),
        ({"prefixPrompt": "hi"}, "prefixPrompt"),
    ):
        assert_names_field(await admin.put("/api/settings/system-prompt", json=body), field, status=422)
    off = await admin.put("/api/settings/system-prompt", json={"enabled": False, "prompt": ""})
    assert off.json() == {"enabled": False, "prompt": "", "mode": "replace"}
    assert await audit_rows(pool, "settings") == 3


async def test_require_login_mirrors_the_general_setting(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    assert (await admin.get("/api/settings/require-login")).json() == {"requireLogin": True}
    off = await admin.put("/api/settings/require-login", json={"requireLogin": False})
    assert off.status_code == 200, off.text
    assert off.json() == {"requireLogin": False}
    assert (await admin.get("/api/settings")).json()["requireLogin"] is False
    row = await last_audit(pool)
    assert row["target_id"] == "general"
    assert (jsonx.loads(row["before"])["requireLogin"], jsonx.loads(row["after"])["requireLogin"]) == (True, False)
    for body, field in (
        ({}, "requireLogin"),
        ({"requireLogin": "false"}, "requireLogin"),
        ({"requireLogin": True, "password": "x"}, "password"),
    ):
        assert_names_field(await admin.put("/api/settings/require-login", json=body), field, status=422)
    assert await audit_rows(pool, "settings") == 1


async def test_every_endpoint_needs_an_admin(control: AsyncTestClient) -> None:
    paths = ["/api/settings", "/api/settings/ip-filter", "/api/settings/thinking-budget", "/api/settings/system-prompt"]
    for path in [*paths, "/api/settings/require-login"]:
        assert (await control.get(path)).status_code == 401, path
        assert (await control.put(path, json={})).status_code == 401, path


async def test_openapi_documents_the_settings_endpoints(admin: AsyncTestClient) -> None:
    document = (await admin.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/settings"]) >= {"get", "put", "patch"}
    for path in ("/api/settings/ip-filter", "/api/settings/thinking-budget", "/api/settings/system-prompt"):
        assert set(paths[path]) >= {"get", "put"}, path
    assert set(paths["/api/settings/require-login"]) >= {"get", "put"}
    assert "get" in paths["/api/init"]
    schemas = document["components"]["schemas"]
    assert schemas["ThinkingBudgetSettings"]["properties"]["mode"]["enum"] == ["passthrough", "auto", "custom", "off"]
    assert set(schemas["IpFilterSettings"]["properties"]) == {"allow", "block", "trustedProxies"}
