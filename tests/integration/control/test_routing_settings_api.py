"""/api/resilience, /api/rate-limit and /api/settings/idempotency against the real Postgres and Redis."""

from __future__ import annotations

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared import jsonx
from shared.config.resilience import IdempotencySettings, RateLimitSettings, ResilienceSettings, routing_settings
from tests.integration.control.routing_support import actions, assert_names_field, audit_rows, published, version

DEFAULTS = msgspec.to_builtins(ResilienceSettings())
NO_STATE = {"breakers": [], "cooldowns": []}  # GET's live state with no breaker or cooldown in Redis


async def stored(pool: asyncpg.Pool, key: str) -> object:
    raw = await pool.fetchval("SELECT value::text FROM settings WHERE key = $1", key)
    return None if raw is None else jsonx.loads(raw)


async def test_resilience_defaults_then_merged_changes_are_stored_and_published(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    answer = await admin.get("/api/resilience")
    assert answer.status_code == 200
    assert answer.json() == {"settings": DEFAULTS, "state": NO_STATE}

    start = await version(redis)
    patched = await admin.patch("/api/resilience", json={"breakerFailureThreshold": 3, "connectionStrategy": "p2c"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["settings"] == {**DEFAULTS, "breakerFailureThreshold": 3, "connectionStrategy": "p2c"}
    assert await version(redis) > start
    put = await admin.put("/api/resilience", json={"settings": {"cooldownBaseMs": 1000, "maxRetries": 0}})
    assert put.status_code == 200, put.text
    expected = {
        **DEFAULTS,
        "breakerFailureThreshold": 3,
        "connectionStrategy": "p2c",
        "cooldownBaseMs": 1000,
        "maxRetries": 0,
    }
    assert put.json() == {"settings": expected}
    assert (await admin.get("/api/resilience")).json() == {"settings": expected, "state": NO_STATE}
    # only what was set is stored, so untouched fields follow the defaults of later releases
    assert await stored(pool, "resilience") == {
        "breakerFailureThreshold": 3,
        "connectionStrategy": "p2c",
        "cooldownBaseMs": 1000,
        "maxRetries": 0,
    }
    resilience, _, _ = routing_settings((await published(redis)).settings)
    assert resilience == msgspec.convert(expected, ResilienceSettings)
    assert await actions(pool, "settings") == ["settings.updated", "settings.updated"]
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'settings.updated' ORDER BY id DESC LIMIT 1")
    assert row is not None
    assert (row["target_type"], row["target_id"]) == ("settings", "resilience")
    assert jsonx.loads(row["before"])["cooldownBaseMs"] == 3000
    assert jsonx.loads(row["after"])["cooldownBaseMs"] == 1000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"breakerResetMs": 0}, "breakerResetMs"),
        ({"connectTimeoutMs": -5}, "connectTimeoutMs"),
        ({"firstByteTimeoutMs": "5000"}, "firstByteTimeoutMs"),
        ({"retryBackoffMs": 2.5}, "retryBackoffMs"),
        ({"breakerFailureThreshold": True}, "breakerFailureThreshold"),
        ({"sessionTtlMs": None}, "sessionTtlMs"),
        ({"requestDeadlineMs": 2**31}, "requestDeadlineMs"),
        ({"maxRetries": -1}, "maxRetries"),
        ({"connectionStrategy": "best"}, "connectionStrategy"),
        ({"cooldownBaseMs": 10_000, "cooldownMaxMs": 5_000}, "cooldownBaseMs"),
        ({"breakerMaxResetMs": 1_000}, "breakerMaxResetMs"),  # below the stored/default breakerResetMs
        ({"breakerResetMs": 400_000}, "breakerResetMs"),  # above the default breakerMaxResetMs
        ({"breakerTreshold": 3}, "breakerTreshold"),
        ({"settings": {"bogus": 1}}, "bogus"),
    ],
)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_invalid_resilience_settings_name_the_field_and_write_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis, method: str, body: dict[str, object], field: str
) -> None:
    before = await version(redis)
    assert_names_field(await admin.request(method, "/api/resilience", json=body), field)
    assert await stored(pool, "resilience") is None
    assert await audit_rows(pool, "settings") == 0
    assert await version(redis) == before


async def test_a_body_that_is_not_an_object_is_refused(admin: AsyncTestClient) -> None:
    for path in ("/api/resilience", "/api/rate-limit", "/api/settings/idempotency"):
        assert (await admin.put(path, json=[1, 2])).status_code == 400, path
        assert (
            await admin.put(path, content=b"{not json", headers={"content-type": "application/json"})
        ).status_code == 400


async def test_rate_limit_settings_merge_key_defaults_field_by_field(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    defaults = msgspec.to_builtins(RateLimitSettings())
    assert (await admin.get("/api/rate-limit")).json() == defaults
    first = await admin.put("/api/rate-limit", json={"keyDefaults": {"requestsPerMinute": 60}})
    assert first.status_code == 200, first.text
    second = await admin.put("/api/rate-limit", json={"enabled": False, "keyDefaults": {"tokensPerMinute": 10_000}})
    expected = {
        **defaults,
        "enabled": False,
        "keyDefaults": {**defaults["keyDefaults"], "requestsPerMinute": 60, "tokensPerMinute": 10_000},
    }
    assert second.json() == expected
    assert (await admin.get("/api/rate-limit")).json() == expected
    cleared = await admin.put("/api/rate-limit", json={"keyDefaults": {"requestsPerMinute": None}})
    assert cleared.json()["keyDefaults"]["requestsPerMinute"] is None
    _, limits, _ = routing_settings((await published(redis)).settings)
    assert limits.enabled is False
    assert limits.key_defaults.tokens_per_minute == 10_000
    assert limits.key_defaults.requests_per_minute is None
    for body, field in (
        ({"fallbackDivisor": 0}, "fallbackDivisor"),
        ({"keyDefaults": {"requestsPerMinute": 0}}, "keyDefaults.requestsPerMinute"),
        ({"keyDefaults": {"requestsPerHour": 5}}, "keyDefaults.requestsPerHour"),
        ({"keyDefaults": 5}, "keyDefaults"),
        ({"enabled": "yes"}, "enabled"),
        ({"limit": 1}, "limit"),
    ):
        assert_names_field(await admin.put("/api/rate-limit", json=body), field)
    assert await actions(pool, "settings") == ["settings.updated"] * 3


async def test_idempotency_settings(admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis) -> None:
    assert (await admin.get("/api/settings/idempotency")).json() == msgspec.to_builtins(IdempotencySettings())
    response = await admin.put("/api/settings/idempotency", json={"windowMs": 1000, "waitMs": 0})
    assert response.status_code == 200, response.text
    assert response.json() == {**msgspec.to_builtins(IdempotencySettings()), "windowMs": 1000, "waitMs": 0}
    _, _, idempotency = routing_settings((await published(redis)).settings)
    assert (idempotency.window_ms, idempotency.wait_ms) == (1000, 0)
    before = await version(redis)
    for body, field in (
        ({"windowMs": 999}, "windowMs"),
        ({"waitMs": -1}, "waitMs"),
        ({"maxStoredBytes": 0}, "maxStoredBytes"),
        ({"windowMs": "5s"}, "windowMs"),
        ({"ttl": 5}, "ttl"),
    ):
        assert_names_field(await admin.put("/api/settings/idempotency", json=body), field)
    assert await version(redis) == before
    assert await stored(pool, "idempotency") == {"windowMs": 1000, "waitMs": 0}
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'settings.updated'")
    assert row is not None
    assert row["target_id"] == "idempotency"


async def test_a_malformed_stored_row_reads_as_the_defaults(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    await pool.execute("""INSERT INTO settings (key, value) VALUES ('resilience', '{"breakerResetMs": "soon"}')""")
    assert (await admin.get("/api/resilience")).json() == {"settings": DEFAULTS, "state": NO_STATE}
    # a write starting from it names the bad stored field rather than silently keeping it
    assert_names_field(await admin.patch("/api/resilience", json={"maxRetries": 2}), "breakerResetMs")
