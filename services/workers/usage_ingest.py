"""Consume the usage stream into Postgres: exactly-once counting from at-least-once delivery.

Each round first claims entries another consumer read but never acknowledged (a crashed worker),
then reads new ones; a batch is inserted with `ON CONFLICT (request_id) DO NOTHING` and rolled up
(services/workers/usage_store.py) in one statement, and only then acknowledged, so a crash between
insert and acknowledgement re-delivers rows that are skipped.
Entries that cannot be decoded are moved to a dead-letter stream instead of blocking the group.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.workers.usage_store import insert_events
from shared import metrics
from shared.kv import keys
from shared.kv.usage_stream import StreamEntry, StreamLag, UsageStream

__all__ = ["UsageIngestor", "insert_events"]

log = logging.getLogger(__name__)

_JOB = "usage_ingest"  # the consumer loop's name in the job metrics


class UsageIngestor:
    def __init__(
        self, pool: asyncpg.Pool, redis: Redis, consumer: str, batch_size: int = 500, claim_idle_ms: int = 30_000
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._stream = UsageStream(redis)
        self.consumer = consumer
        self._batch_size = batch_size
        self._claim_idle_ms = claim_idle_ms

    async def _dead_letter(self, poison: list[StreamEntry]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for entry in poison:
            pipe.xadd(keys.USAGE_DEAD_LETTERS, {"entry": entry.entry_id, "raw": entry.raw or b""}, maxlen=10_000)
        await pipe.execute()
        metrics.USAGE_POISON.inc(len(poison))
        log.error("unusable usage entries moved to the dead-letter stream", extra={"count": len(poison)})

    async def _insert_one_by_one(self, entries: list[StreamEntry]) -> tuple[int, list[StreamEntry]]:
        """After a batch was refused: store what Postgres accepts, set the rest aside."""
        inserted, refused = 0, []
        for entry in entries:
            assert entry.event is not None
            try:
                inserted += await insert_events(self._pool, [entry.event])
            except asyncpg.DataError:
                refused.append(StreamEntry(entry.entry_id, None, msgspec.json.encode(entry.event)))
        return inserted, refused

    async def _store(self, entries: list[StreamEntry]) -> int:
        events = [entry for entry in entries if entry.event is not None]
        poison = [entry for entry in entries if entry.event is None]
        try:
            inserted = await insert_events(self._pool, [e.event for e in events if e.event]) if events else 0
            refused: list[StreamEntry] = []
        except asyncpg.DataError:
            # One bad value must not block the group: find it, keep the rest.
            inserted, refused = await self._insert_one_by_one(events)
        if poison or refused:
            await self._dead_letter(poison + refused)
        await self._stream.acknowledge([entry.entry_id for entry in entries])
        metrics.USAGE_INGESTED.inc(inserted)
        metrics.USAGE_DUPLICATES.inc(len(events) - len(refused) - inserted)
        return len(entries)

    async def run_once(self, block_ms: int = 1000) -> int:
        """One round; returns the number of entries handled."""
        entries = await self._stream.claim_stale(self.consumer, self._claim_idle_ms, self._batch_size)
        if not entries:
            entries = await self._stream.read_new(self.consumer, self._batch_size, block_ms)
        if not entries:
            return 0
        return await self._store(entries)

    async def run(self) -> None:
        await self._ensure_group()
        failures = 0
        while True:
            started = time.perf_counter()
            try:
                if await self.run_once():  # a round that stored a batch counts as one run of "usage_ingest"
                    metrics.JOB_RUNS.labels(job=_JOB, result="ok").inc()
                    metrics.JOB_DURATION.labels(job=_JOB).observe(time.perf_counter() - started)
                failures = 0
            except (RedisError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                metrics.JOB_RUNS.labels(job=_JOB, result="failed").inc()
                failures += 1
                log.warning("usage ingest round failed; retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(failures, 5)))

    async def _ensure_group(self) -> None:
        while True:
            try:
                await self._stream.ensure_group()
                return
            except (RedisError, OSError):
                await asyncio.sleep(1.0)

    async def lag(self) -> StreamLag:
        """Measure the stream's backlog for the lag gauges (and return it)."""
        lag = await self._stream.lag()
        metrics.USAGE_LAG.set(lag.backlog)
        metrics.USAGE_PENDING.set(lag.pending)
        metrics.USAGE_OLDEST_AGE.set(lag.oldest_age_seconds)
        return lag
