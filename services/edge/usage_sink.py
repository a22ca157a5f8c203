"""Usage events leave the request path: buffered in memory, appended to Redis in batches.

A request only appends to a deque. A background task flushes every few milliseconds (or as soon
as a batch is full) in one pipelined round trip. While Redis is unreachable, events wait in a
bounded buffer and are retried; overflow is counted and logged, never silent. Shutdown flushes.

Redis without persistence loses the stream when it restarts, including events appended but not
yet stored by a worker. Each append therefore also refreshes a marker key of this process; when a
flush finds the marker gone, the events appended in the last `replay_seconds` are appended again.
Some were stored already: the worker's insert is idempotent on the request id, so they count once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque

from redis.exceptions import RedisError

from shared import metrics
from shared.kv import keys
from shared.kv.usage_stream import UsageEvent, UsageStream

__all__ = ["UsageSink"]

log = logging.getLogger(__name__)

_PROBE_SECONDS = 1.0  # while idle, how often to check that Redis still holds what was appended


class UsageSink:
    def __init__(
        self,
        stream: UsageStream,
        flush_ms: int,
        batch_size: int,
        max_buffered: int = 200_000,
        replay_seconds: float = 900.0,
        max_replay: int = 50_000,
    ) -> None:
        self._stream = stream
        self._interval = flush_ms / 1000
        self._batch_size = batch_size
        self._buffer: deque[UsageEvent] = deque()
        self._max_buffered = max_buffered
        self._wake = asyncio.Event()
        self._failures = 0
        self._marker = keys.usage_sink_marker(uuid.uuid4().hex)
        self._marked = False  # the marker has been set at least once
        self._sent: deque[tuple[float, UsageEvent]] = deque()  # appended recently: replayed if Redis loses them
        self._replay_seconds = replay_seconds
        self._max_replay = max_replay
        self._last_append = 0.0

    def emit(self, event: UsageEvent) -> None:
        if len(self._buffer) >= self._max_buffered:
            metrics.USAGE_DROPPED.inc()
            log.error("usage buffer full; dropping the oldest event", extra={"buffered": len(self._buffer)})
            self._buffer.popleft()
        self._buffer.append(event)
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def _remember(self, batch: list[UsageEvent]) -> None:
        now = time.monotonic()
        self._last_append = now
        self._sent.extend((now, event) for event in batch)
        horizon = now - self._replay_seconds
        while self._sent and (len(self._sent) > self._max_replay or self._sent[0][0] < horizon):
            self._sent.popleft()

    def _replay(self, keep: int) -> None:
        """Redis lost its data: queue again what was appended before the last `keep` events."""
        older = [event for _, event in list(self._sent)[: len(self._sent) - keep]]
        for _ in older:
            self._sent.popleft()
        self._buffer.extendleft(reversed(older))
        metrics.USAGE_REPLAYED.inc(len(older))
        log.warning("Redis lost the usage stream; appending recent events again", extra={"events": len(older)})

    def _probe_due(self) -> bool:
        return self._marked and bool(self._sent) and time.monotonic() - self._last_append >= _PROBE_SECONDS

    async def flush(self, probe: bool = False) -> bool:
        """Send everything buffered (with `probe`, check the marker even if nothing is); False if Redis failed."""
        if not self._buffer and not probe:
            return True
        while True:
            batch = [self._buffer[i] for i in range(min(self._batch_size, len(self._buffer)))]
            try:
                kept = await self._stream.append(batch, self._marker)
            except (RedisError, OSError) as exc:
                metrics.REDIS_ERRORS.labels(operation="usage_append").inc()
                if self._failures == 0:
                    log.warning("usage append failed; events kept for retry", extra={"error": type(exc).__name__})
                self._failures += 1
                return False
            for _ in batch:
                self._buffer.popleft()
            self._remember(batch)
            if self._marked and not kept:
                self._replay(keep=len(batch))
            self._marked = True
            self._failures = 0
            if not self._buffer:
                return True

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            ok = await self.flush(probe=self._probe_due())
            metrics.USAGE_BUFFERED.set(len(self._buffer))
            if not ok:
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(self._failures, 5)))

    async def close(self, grace_seconds: float = 5.0) -> None:
        """Flush what is left, retrying for a short grace period while Redis is unreachable."""
        for _ in range(max(1, int(grace_seconds / 0.2))):
            if await self.flush():
                return
            await asyncio.sleep(0.2)
        log.error("usage events lost at shutdown: Redis unreachable", extra={"lost": len(self._buffer)})
