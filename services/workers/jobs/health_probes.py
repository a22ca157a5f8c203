"""Job: probe every active provider connection and record the verdicts in Redis for /api/monitoring/health.

The connections come from the config snapshot in Redis (what the edges serve, credentials
decrypted), so a probe tests exactly what live traffic uses. Probes run beside the edges, not
through them: they never read or write breaker, cooldown, rate-limit or concurrency state, so a
failing probe cannot open a breaker and a probe never takes a live request's slot. What they cost
the provider is one model-list call per connection per round (a minimal chat only where a
provider has no list endpoint), a few at a time. arq runs each cron slot once fleet-wide.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from services.outbound.fetch import fetch
from shared import metrics
from shared.config.snapshot import ConnectionConfig, SnapshotCodec
from shared.crypto import DecryptionError
from shared.kv.config_channel import ConfigChannel
from shared.kv.health_probes import ProbeRecord, write_probes
from shared.outbound_proxy import PROXY_SETTINGS_KEY, ProxyTable
from shared.providers.health_probe import probe_connection

__all__ = ["CONCURRENCY", "PROBE_DEPS", "ProbeDeps", "probe_connections"]

log = logging.getLogger(__name__)

PROBE_DEPS = "health_probes"  # the ctx entry the worker process fills in
CONCURRENCY = 4
CONNECT_SECONDS = 5.0
TOTAL_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class ProbeDeps:
    redis: Redis
    codec: SnapshotCodec
    allow_private: bool  # OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS: lifts the connect-time SSRF guard


async def _active_connections(deps: ProbeDeps) -> tuple[list[ConnectionConfig], ProxyTable]:
    stored = await ConfigChannel(deps.redis).load()
    if stored is None:
        return [], ProxyTable()
    try:
        snapshot = deps.codec.decode(stored.blob, stored.version)
    except (DecryptionError, ValueError):
        log.warning("the config snapshot cannot be read; no health probes this round")
        return [], ProxyTable()
    proxies = ProxyTable.from_settings(snapshot.settings.get(PROXY_SETTINGS_KEY))
    return [c for c in snapshot.connections if c.is_active], proxies


async def probe_connections(ctx: dict[str, Any]) -> int:
    """Connections probed this round."""
    deps: ProbeDeps | None = ctx.get(PROBE_DEPS)
    if deps is None:
        return 0
    connections, proxies = await _active_connections(deps)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def probe(connection: ConnectionConfig) -> ProbeRecord:
        async with gate:
            return await probe_connection(
                connection,
                fetch,
                allow_private=deps.allow_private,
                proxies=proxies,
                connect_timeout=CONNECT_SECONDS,
                total_timeout=TOTAL_SECONDS,
            )

    records = await asyncio.gather(*(probe(connection) for connection in connections))
    await write_probes(deps.redis, records)
    for record in records:
        metrics.HEALTH_PROBES.labels(result=record.status).inc()
    down = [record.connection_id for record in records if record.status == "down"]
    if down:
        log.info("health probes found connections down", extra={"down": len(down), "probed": len(records)})
    return len(records)
