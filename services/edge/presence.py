"""This edge process announcing itself in Redis, so the control plane can list the live fleet.

A background task of the lifespan, never on the request path: one small script every
EDGE_HEARTBEAT_MS, and at once when the process swaps in a new config snapshot (so the control
plane sees promptly which snapshot each replica serves). A Redis outage costs a counted error and
a retry at the next tick; the edge keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.edge.snapshot_sync import ConfigHolder
from shared import metrics
from shared.kv import keys
from shared.kv.presence import Presence, ReplicaRecord

__all__ = ["PresenceAnnouncer"]

log = logging.getLogger(__name__)

_TICK_SECONDS = 0.25  # how soon a snapshot change is announced


class PresenceAnnouncer:
    def __init__(self, redis: Redis, holder: ConfigHolder, port: int | None) -> None:
        self._presence = Presence(redis)
        self._holder = holder
        host = socket.gethostname()
        pid = os.getpid()
        self.replica_id = f"{host}:{pid}:{uuid.uuid4().hex[:8]}"
        self._base = ReplicaRecord(
            id=self.replica_id,
            service="edge",
            host=host,
            pid=pid,
            port=port,
            version=0,
            started_at_ms=int(time.time() * 1000),
        )

    def _record(self) -> ReplicaRecord:
        return ReplicaRecord(
            id=self._base.id,
            service=self._base.service,
            host=self._base.host,
            pid=self._base.pid,
            port=self._base.port,
            version=self._holder.current.version,
            started_at_ms=self._base.started_at_ms,
        )

    async def announce_once(self) -> bool:
        record = self._record()
        try:
            await self._presence.announce(record)
        except (RedisError, OSError) as exc:
            metrics.REDIS_ERRORS.labels(operation="presence").inc()
            log.debug("presence announcement failed", extra={"error": type(exc).__name__})
            return False
        return True

    async def run(self) -> None:
        heartbeat = keys.EDGE_HEARTBEAT_MS / 1000
        due = 0.0
        attempted: int | None = None  # the version last announced or tried (a down Redis waits for the beat)
        while True:
            now = time.monotonic()
            if now >= due or self._holder.current.version != attempted:
                attempted = self._holder.current.version
                await self.announce_once()
                due = now + heartbeat
            await asyncio.sleep(_TICK_SECONDS)

    async def withdraw(self) -> None:
        """Best effort at shutdown: without it the replica simply ages out of the listing."""
        try:
            async with asyncio.timeout(1.0):
                await self._presence.withdraw(self.replica_id)
        except (RedisError, OSError, TimeoutError):
            metrics.REDIS_ERRORS.labels(operation="presence").inc()
