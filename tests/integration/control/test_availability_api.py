"""/api/models/availability: the routes of the configuration in Postgres, classified by the fleet's state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.breaker import Breaker, BreakerPolicy
from shared.providers.catalog import PROVIDERS
from tests.integration.control.live_support import by, cool, run, trip
from tests.integration.control.routing_support import (
    assert_names_field,
    make_alias,
    make_combo,
    make_connection,
)


async def summary(admin: AsyncTestClient) -> dict[str, dict[str, Any]]:
    response = await admin.get("/api/models/availability")
    assert response.status_code == 200, response.text
    return by(response.json()["models"], "model")


async def detail(admin: AsyncTestClient, model: str) -> dict[str, Any]:
    response = await admin.post("/api/models/availability", json={"model": model})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def states(answer: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(t["provider"], t["connectionId"], t["state"]) for t in answer["targets"]]


@pytest.fixture
async def fleet(admin: AsyncTestClient) -> dict[str, str]:
    """Two OpenAI connections (first by priority), one Anthropic, a combo over both providers, an alias."""
    ids = {
        "first": await make_connection(admin, "openai", priority=1),
        "second": await make_connection(admin, "openai", name="openai-backup", priority=2),
        "claude": await make_connection(admin, "anthropic"),
    }
    await make_combo(admin, "smart", "openai/gpt-4o", "anthropic/claude-sonnet-4-5")
    await make_alias(admin, "fast", "openai/gpt-4o-mini")
    return ids


async def test_every_routable_model_is_listed_and_available_when_the_fleet_is_healthy(
    admin: AsyncTestClient, fleet: dict[str, str]
) -> None:
    models = await summary(admin)
    expected = {f"openai/{m}" for m in PROVIDERS["openai"].models}
    expected |= {f"anthropic/{m}" for m in PROVIDERS["anthropic"].models}
    assert set(models) == expected | {"smart"}
    assert models["openai/gpt-4o"] == {
        "model": "openai/gpt-4o",
        "status": "available",
        "targets": 2,
        "availableTargets": 2,
    }
    assert models["smart"] == {"model": "smart", "status": "available", "targets": 3, "availableTargets": 3}
    assert {row["status"] for row in models.values()} == {"available"}

    answer = await detail(admin, "smart")
    assert answer["model"] == "smart"
    assert answer["available"] is True
    assert answer["targets"][0] == {
        "provider": "openai",
        "model": "gpt-4o",
        "connectionId": fleet["first"],
        "connectionName": "openai-main",
        "state": "available",
        "retryInMs": 0,
    }
    assert states(answer) == [
        ("openai", fleet["first"], "available"),
        ("openai", fleet["second"], "available"),
        ("anthropic", fleet["claude"], "available"),
    ]


async def test_cooldowns_and_open_breakers_degrade_then_take_models_down(
    admin: AsyncTestClient, redis: Redis, fleet: dict[str, str]
) -> None:
    await cool(redis, fleet["first"], retry_after_ms=20_000)
    await trip(redis, "anthropic")

    answer = await detail(admin, "smart")
    assert answer["available"] is True
    assert states(answer) == [
        ("openai", fleet["first"], "cooldown"),
        ("openai", fleet["second"], "available"),
        ("anthropic", fleet["claude"], "breaker_open"),
    ]
    retry = {t["connectionId"]: t["retryInMs"] for t in answer["targets"]}
    assert 15_000 < retry[fleet["first"]] <= 20_000
    assert 0 < retry[fleet["claude"]] <= 30_000
    models = await summary(admin)
    assert (models["openai/gpt-4o"]["status"], models["openai/gpt-4o"]["availableTargets"]) == ("degraded", 1)
    assert models["smart"] == {"model": "smart", "status": "degraded", "targets": 3, "availableTargets": 1}
    assert models["anthropic/claude-haiku-4-5"]["status"] == "unavailable"

    await cool(redis, fleet["second"], retry_after_ms=20_000)
    down = await detail(admin, "smart")
    assert down["available"] is False
    assert [t["state"] for t in down["targets"]] == ["cooldown", "cooldown", "breaker_open"]
    assert (await summary(admin))["smart"]["status"] == "unavailable"

    assert (await admin.post("/api/resilience/reset")).status_code == 200
    assert (await detail(admin, "smart"))["available"] is True
    assert {row["status"] for row in (await summary(admin)).values()} == {"available"}


async def test_a_half_open_breaker_serves_only_while_its_probe_is_free(
    admin: AsyncTestClient, redis: Redis, fleet: dict[str, str]
) -> None:
    await trip(redis, "anthropic", reset_ms=1)
    await asyncio.sleep(0.01)  # the open period is over: the next request would be the probe
    answer = await detail(admin, "anthropic/claude-sonnet-4-5")
    assert answer["available"] is True
    assert [(t["state"], t["retryInMs"]) for t in answer["targets"]] == [("half_open", 0)]
    assert (await summary(admin))["anthropic/claude-sonnet-4-5"] == {
        "model": "anthropic/claude-sonnet-4-5",
        "status": "degraded",
        "targets": 1,
        "availableTargets": 0,
    }

    view = await run(redis, lambda batch: Breaker(redis).acquire(batch, "anthropic", BreakerPolicy()))
    assert view.probe  # another edge is probing now
    taken = await detail(admin, "anthropic/claude-sonnet-4-5")
    assert taken["available"] is False
    [target] = taken["targets"]
    assert target["state"] == "half_open"
    assert target["retryInMs"] > 0
    assert (await summary(admin))["anthropic/claude-sonnet-4-5"]["status"] == "unavailable"


async def test_aliases_bare_models_and_pinned_steps_resolve_as_at_the_edge(
    admin: AsyncTestClient, fleet: dict[str, str]
) -> None:
    fast = await detail(admin, "fast")
    assert fast["model"] == "fast"
    assert {(t["model"], t["connectionId"]) for t in fast["targets"]} == {
        ("gpt-4o-mini", fleet["first"]),
        ("gpt-4o-mini", fleet["second"]),
    }
    bare = await detail(admin, "claude-haiku-4-5")
    assert states(bare) == [("anthropic", fleet["claude"], "available")]

    parked = await make_connection(admin, "openai", name="parked", isActive=False)
    await make_combo(
        admin, "pinned", {"provider": "openai", "model": "gpt-4o", "connectionId": parked}, "anthropic/claude-haiku-4-5"
    )
    answer = await detail(admin, "pinned")
    assert answer["available"] is True
    assert ("openai", parked, "no_connection") in states(answer)  # the pinned connection is not active
    assert (await summary(admin))["pinned"]["status"] == "degraded"


async def test_the_configuration_is_read_from_postgres_not_from_the_published_snapshot(
    admin: AsyncTestClient, redis: Redis, fleet: dict[str, str]
) -> None:
    await redis.delete(keys.CONFIG_CURRENT)
    assert "smart" in await summary(admin)
    assert (await detail(admin, "smart"))["available"] is True


async def test_unknown_models_are_404(admin: AsyncTestClient, fleet: dict[str, str]) -> None:
    for model in ("no-such-model", "openai-nope/gpt-4o", "nosuchcombo"):
        response = await admin.post("/api/models/availability", json={"model": model})
        assert response.status_code == 404, model
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("body", [{}, {"model": ""}, {"model": 5}, {"model": None}, {"model": "x" * 513}])
async def test_missing_or_invalid_model_names_the_field(admin: AsyncTestClient, body: dict[str, Any]) -> None:
    assert_names_field(await admin.post("/api/models/availability", json=body), "model")


async def test_a_body_that_is_not_an_object_is_refused(admin: AsyncTestClient) -> None:
    assert (await admin.post("/api/models/availability")).status_code == 400
    assert (await admin.post("/api/models/availability", json=["smart"])).status_code == 400
