"""GET /api/monitoring/health: is the deployment healthy, and what does each part report.

Postgres and Redis are probed (each bounded by a short timeout; an unreachable store is reported,
never a 500). The provider summary counts the catalog, the providers with a connection, those
with an active one, and those Redis holds health signals for right now. Breakers are
listed for every configured provider (closed when Redis holds nothing) and for any other provider
holding state. `probes` are the workers' health probes of each connection (services/workers/jobs/
health_probes.py), as Redis still holds them; a provider counts as monitored when Redis holds a
probe result, breaker state or cooldown state for it. Edge replicas are those that announced
themselves within EDGE_REPLICA_TTL_MS; a replica is `live` when seen within EDGE_RECENT_MS and
`current` when it serves the snapshot version published in Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Request, get
from redis.asyncio import Redis

from services.control.context import control_state
from services.control.resources.monitoring.fleet_view import FleetView, read_fleet
from services.control.resources.monitoring.inventory import Inventory, read_inventory
from shared.kv import keys
from shared.kv.health_probes import ProbeRecord, read_probes
from shared.providers.catalog import PROVIDERS

__all__ = ["HealthAnswer", "monitoring_health"]

_PROBE_SECONDS = 2.0

BreakerState = Literal["closed", "open", "half_open"]
T = TypeVar("T")


class StoreHealth(msgspec.Struct, kw_only=True, rename="camel"):
    reachable: bool
    latency_ms: float | None  # the probe's round trip; None when unreachable
    error: str | None = None  # the exception's type only: no addresses, no credentials


class ProviderSummary(msgspec.Struct, kw_only=True, rename="camel"):
    catalog_count: int  # providers in the built-in catalog
    configured_count: int | None  # with a connection (a provider node is a provider); None: Postgres down
    active_count: int | None  # with at least one active connection
    # with a health probe result, breaker state or connection cooldowns in Redis now; None: Redis down
    monitored_count: int | None


class BreakerStatus(msgspec.Struct, kw_only=True, rename="camel"):
    provider: str
    state: BreakerState
    failures: int
    retry_in_ms: int
    configured: bool | None  # False: state left by a provider without connections; None: Postgres down
    cooling_connections: int  # this provider's connections in cooldown


class ConnectionProbe(msgspec.Struct, kw_only=True, rename="camel"):
    connection_id: str
    provider: str  # as breakers name it
    name: str
    status: Literal["up", "down"]
    method: Literal["models", "chat", "none"]  # what was called: the model list, a minimal chat, nothing
    latency_ms: float | None
    checked_at: datetime
    http_status: int | None  # the upstream's answer; None when none came
    error_code: str | None  # the gateway's error code (e.g. upstream_unreachable, auth_failed)


class EdgeReplica(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    host: str
    pid: int
    port: int | None
    version: int  # config snapshot version it serves
    current: bool | None  # serves the version published in Redis
    live: bool  # seen within `recentMs`
    started_at: datetime
    last_seen: datetime
    age_ms: int


class EdgeFleet(msgspec.Struct, kw_only=True, rename="camel"):
    recent_ms: int
    live_count: int
    replicas: list[EdgeReplica]


class HealthAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    status: Literal["ok", "degraded"]
    issues: list[str]  # why the status is degraded, one line each
    checked_at: datetime
    postgres: StoreHealth
    redis: StoreHealth
    config_version: int | None  # the snapshot version published in Redis; None: Redis down
    providers: ProviderSummary
    breakers: list[BreakerStatus]
    probes: list[ConnectionProbe]  # the workers' latest probe of each connection still on record
    edges: EdgeFleet


async def _probe(check: Callable[[], Awaitable[T]]) -> tuple[StoreHealth, T | None]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(_PROBE_SECONDS):
            result = await check()
    except Exception as exc:  # any failure of the store is the answer, not an error
        return StoreHealth(reachable=False, latency_ms=None, error=type(exc).__name__), None
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return StoreHealth(reachable=True, latency_ms=elapsed), result


def _at(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def _breakers(inventory: Inventory | None, fleet: FleetView) -> list[BreakerStatus]:
    configured = inventory.configured if inventory else frozenset()
    owners = inventory.connection_providers if inventory else {}
    cooling: dict[str, int] = {}
    for view in fleet.cooldowns:
        owner = owners.get(view.connection_id)
        if owner is not None and view.remaining_ms > 0:
            cooling[owner] = cooling.get(owner, 0) + 1
    return [
        BreakerStatus(
            provider=name,
            state=view.state,
            failures=view.failures,
            retry_in_ms=view.retry_in_ms,
            configured=(name in configured) if inventory else None,
            cooling_connections=cooling.get(name, 0),
        )
        for name, view in fleet.breakers.items()
    ]


def _monitored(inventory: Inventory | None, fleet: FleetView, probes: list[ConnectionProbe]) -> int:
    """Providers with a probe result, breaker state or a connection with cooldown state (cooling or escalated)."""
    owners = inventory.connection_providers if inventory else {}
    names = {name for name, view in fleet.breakers.items() if view.state != "closed" or view.failures > 0}
    names.update(owners[view.connection_id] for view in fleet.cooldowns if view.connection_id in owners)
    names.update(probe.provider for probe in probes)
    return len(names)


def _probes(inventory: Inventory | None, records: list[ProbeRecord]) -> list[ConnectionProbe]:
    """Results of connections that still exist, down ones first."""
    owners = inventory.connection_providers if inventory else {}
    found = [
        ConnectionProbe(
            connection_id=record.connection_id,
            provider=owners[record.connection_id],
            name=record.name,
            status=record.status,
            method=record.method,
            latency_ms=record.latency_ms,
            checked_at=_at(record.checked_at_ms),
            http_status=record.http_status,
            error_code=record.error_code,
        )
        for record in records
        if record.connection_id in owners
    ]
    return sorted(found, key=lambda probe: (probe.status == "up", probe.provider, probe.name, probe.connection_id))


def _edges(fleet: FleetView | None) -> EdgeFleet:
    if fleet is None:
        return EdgeFleet(recent_ms=keys.EDGE_RECENT_MS, live_count=0, replicas=[])
    replicas = [
        EdgeReplica(
            id=seen.record.id,
            host=seen.record.host,
            pid=seen.record.pid,
            port=seen.record.port,
            version=seen.record.version,
            current=seen.record.version == fleet.config_version if fleet.config_version else None,
            live=seen.age_ms <= keys.EDGE_RECENT_MS,
            started_at=_at(seen.record.started_at_ms),
            last_seen=_at(seen.last_seen_ms),
            age_ms=seen.age_ms,
        )
        for seen in fleet.replicas
    ]
    return EdgeFleet(
        recent_ms=keys.EDGE_RECENT_MS, live_count=sum(replica.live for replica in replicas), replicas=replicas
    )


def _issues(
    postgres: StoreHealth,
    redis: StoreHealth,
    breakers: list[BreakerStatus],
    probes: list[ConnectionProbe],
    edges: EdgeFleet,
) -> list[str]:
    issues = []
    if not postgres.reachable:
        issues.append("postgres is unreachable")
    if not redis.reachable:
        issues.append("redis is unreachable")
        return issues  # nothing below can be known
    issues.extend(f"breaker of {b.provider} is {b.state}" for b in breakers if b.state != "closed")
    issues.extend(
        f"connection {p.name} of {p.provider} failed its health probe ({p.error_code or p.http_status})"
        for p in probes
        if p.status == "down"
    )
    live = [replica for replica in edges.replicas if replica.live]
    if not live:
        issues.append(f"no edge replica announced itself in the last {edges.recent_ms // 1000} s")
    issues.extend(
        f"edge replica {replica.id} serves config version {replica.version}, not the current one"
        for replica in live
        if replica.current is False
    )
    return issues


def _pinger(redis: Redis) -> Callable[[], Awaitable[bool]]:
    async def ping() -> bool:
        return bool(await redis.ping())

    return ping


@get("/api/monitoring/health", tags=["monitoring"])
async def monitoring_health(request: Request[Any, Any, Any]) -> HealthAnswer:
    """Overall status, store reachability, provider summary, breakers and the edge replicas seen."""
    state = control_state(request)
    (postgres, inventory), (redis, _) = await asyncio.gather(
        _probe(lambda: read_inventory(state.pool)), _probe(_pinger(state.redis))
    )
    fleet: FleetView | None = None
    records: list[ProbeRecord] = []
    if redis.reachable:
        wanted = inventory.configured if inventory else frozenset()
        connection_ids = list(inventory.connection_providers) if inventory else []

        async def read_redis() -> tuple[FleetView, list[ProbeRecord]]:
            return await read_fleet(state.redis, wanted), await read_probes(state.redis, connection_ids)

        redis_again, found = await _probe(read_redis)
        if found is not None:
            fleet, records = found
        if not redis_again.reachable:
            redis = StoreHealth(reachable=False, latency_ms=None, error=redis_again.error)
    breakers = _breakers(inventory, fleet) if fleet else []
    probes = _probes(inventory, records)
    edges = _edges(fleet)
    issues = _issues(postgres, redis, breakers, probes, edges)
    return HealthAnswer(
        status="degraded" if issues else "ok",
        issues=issues,
        checked_at=datetime.now(UTC),
        postgres=postgres,
        redis=redis,
        config_version=fleet.config_version if fleet else None,
        providers=ProviderSummary(
            catalog_count=len(PROVIDERS),
            configured_count=len(inventory.configured) if inventory else None,
            active_count=len(inventory.active) if inventory else None,
            monitored_count=_monitored(inventory, fleet, probes) if fleet else None,
        ),
        breakers=breakers,
        probes=probes,
        edges=edges,
    )
