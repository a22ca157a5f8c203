"""GET /api/monitoring/health against real Postgres and Redis: counts, breakers, edge replicas, outages."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.config_channel import ConfigChannel
from shared.kv.presence import Presence, ReplicaRecord
from shared.providers.catalog import PROVIDERS
from tests.integration.control.live_support import cool, trip
from tests.integration.control.routing_support import make_connection, make_node
from tests.support.env import free_port


async def health(admin: AsyncTestClient) -> dict[str, Any]:
    response = await admin.get("/api/monitoring/health")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def edge_record(version: int, pid: int = 4242, port: int | None = 20128) -> ReplicaRecord:
    return ReplicaRecord(
        id=f"test-host:{pid}:{uuid.uuid4().hex[:8]}",
        service="edge",
        host="test-host",
        pid=pid,
        port=port,
        version=version,
        started_at_ms=int(time.time() * 1000) - 5000,
    )


async def test_an_empty_deployment_reports_counts_and_no_edges(admin: AsyncTestClient) -> None:
    answer = await health(admin)
    assert answer["postgres"]["reachable"] is True
    assert answer["redis"]["reachable"] is True
    assert answer["postgres"]["latencyMs"] >= 0
    assert answer["providers"] == {
        "catalogCount": len(PROVIDERS),
        "configuredCount": 0,
        "activeCount": 0,
        "monitoredCount": 0,
    }
    assert answer["breakers"] == []
    assert answer["edges"]["replicas"] == []
    assert answer["edges"]["liveCount"] == 0
    assert answer["configVersion"] >= 1  # the control plane published at start
    # No edge has announced itself: the deployment cannot serve, so it is degraded and says why.
    assert answer["status"] == "degraded"
    assert any("no edge replica" in issue for issue in answer["issues"])


async def test_provider_summary_and_breakers_follow_connections_and_fleet_state(
    admin: AsyncTestClient, redis: Redis
) -> None:
    openai = await make_connection(admin, "openai")
    await make_connection(admin, "openai", name="openai-second")
    anthropic = await make_connection(admin, "anthropic", isActive=False)
    await make_node(admin, "mycorp")
    await trip(redis, "openai", times=3)  # open
    await trip(redis, "gemini", times=1)  # state left by a provider with no connection
    await cool(redis, anthropic)
    await cool(redis, openai)

    answer = await health(admin)
    assert answer["providers"] == {
        "catalogCount": len(PROVIDERS),
        "configuredCount": 3,  # openai, anthropic, the node's prefix
        "activeCount": 2,  # anthropic's only connection is inactive
        "monitoredCount": 3,  # openai (breaker + cooldown), gemini (breaker), anthropic (cooldown)
    }
    breakers = {entry["provider"]: entry for entry in answer["breakers"]}
    assert set(breakers) == {"openai", "anthropic", "mycorp", "gemini"}
    assert breakers["openai"]["state"] == "open"
    assert breakers["openai"]["failures"] == 3
    assert breakers["openai"]["coolingConnections"] == 1
    assert breakers["anthropic"] == {
        "provider": "anthropic",
        "state": "closed",
        "failures": 0,
        "retryInMs": 0,
        "configured": True,
        "coolingConnections": 1,
    }
    assert breakers["gemini"]["configured"] is False
    assert breakers["gemini"]["failures"] == 1
    assert breakers["mycorp"]["state"] == "closed"
    assert "breaker of openai is open" in answer["issues"]


async def test_edge_replicas_show_version_currency_and_liveness(admin: AsyncTestClient, redis: Redis) -> None:
    presence = Presence(redis)
    current = await ConfigChannel(redis).current_version()
    fresh = edge_record(current, pid=101)
    behind = edge_record(current - 1, pid=102, port=None)
    await presence.announce(fresh)
    await presence.announce(behind)
    # A replica last seen a minute ago (by Redis's clock): listed, but not live.
    server_seconds, micros = await redis.time()
    gone = edge_record(current, pid=103)
    await presence.announce(gone)
    await redis.zadd(keys.EDGE_REPLICAS, {gone.id: server_seconds * 1000 + micros // 1000 - 60_000})

    answer = await health(admin)
    replicas = {replica["pid"]: replica for replica in answer["edges"]["replicas"]}
    assert set(replicas) == {101, 102, 103}
    assert replicas[101]["current"] is True
    assert replicas[101]["live"] is True
    assert replicas[101]["host"] == "test-host"
    assert replicas[101]["port"] == 20128
    assert replicas[101]["version"] == current
    assert replicas[101]["ageMs"] < 5000
    assert replicas[102]["current"] is False
    assert replicas[102]["port"] is None
    assert replicas[103]["live"] is False
    assert replicas[103]["ageMs"] >= 59_000
    assert answer["edges"]["liveCount"] == 2
    assert answer["edges"]["recentMs"] == keys.EDGE_RECENT_MS
    assert answer["edges"]["replicas"][-1]["pid"] == 103  # most recently seen first
    assert answer["status"] == "degraded"
    assert any(behind.id in issue and "version" in issue for issue in answer["issues"])

    await presence.withdraw(behind.id)
    await presence.withdraw(gone.id)
    answer = await health(admin)
    assert [replica["pid"] for replica in answer["edges"]["replicas"]] == [101]
    assert answer["status"] == "ok", answer["issues"]
    assert answer["issues"] == []


async def test_an_unreachable_redis_is_reported_not_raised(admin: AsyncTestClient) -> None:
    state = admin.app.state.control
    real = state.redis
    state.redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    try:
        answer = await health(admin)
    finally:
        await state.redis.aclose()
        state.redis = real
    assert answer["redis"]["reachable"] is False
    assert answer["redis"]["error"] == "ConnectionError"
    assert answer["postgres"]["reachable"] is True
    assert answer["providers"]["monitoredCount"] is None
    assert answer["providers"]["configuredCount"] == 0
    assert answer["configVersion"] is None
    assert answer["status"] == "degraded"
    assert answer["issues"] == ["redis is unreachable"]


async def test_an_unreachable_postgres_is_reported_not_raised(admin: AsyncTestClient, pg_url: str) -> None:
    state = admin.app.state.control
    real = state.pool
    closed = await asyncpg.create_pool(pg_url, min_size=1, max_size=1)
    assert closed is not None
    await closed.close()
    state.pool = closed
    try:
        response = await admin.get("/api/monitoring/health")
    finally:
        state.pool = real
    # The guard itself reads Postgres only for Bearer keys: a cookie session still gets the report.
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["postgres"] == {"reachable": False, "latencyMs": None, "error": "InterfaceError"}
    assert answer["providers"]["configuredCount"] is None
    assert answer["providers"]["activeCount"] is None
    assert "postgres is unreachable" in answer["issues"]
