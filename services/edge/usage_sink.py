"""Usage events leave the request path: buffered in memory, appended to Redis in batches.

A request only appends to a deque. A background task flushes every few milliseconds (or as soon
as a batch is full) in one pipelined round trip. While Redis is unreachable, events wait in a
bounded buffer and are retried; overflow is counted and logged, never silent. Shutdown flushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from redis.exceptions import RedisError

from shared import metrics
from shared.kv.usage_stream import UsageEvent, UsageStream

__all__ = ["UsageSink"]

log = logging.getLogger(__name__)


class UsageSink:
    def __init__(self, stream: UsageStream, flush_ms: int, batch_size: int, max_buffered: int = 200_000) -> None:
        self._stream = stream
        self._interval = flush_ms / 1000
        self._batch_size = batch_size
        self._buffer: deque[UsageEvent] = deque()
        self._max_buffered = max_buffered
        self._wake = asyncio.Event()
        self._failures = 0

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

    async def flush(self) -> bool:
        """Send everything buffered; False (events kept) if Redis failed."""
        while self._buffer:
            batch = [self._buffer[i] for i in range(min(self._batch_size, len(self._buffer)))]
            try:
                await self._stream.append(batch)
            except (RedisError, OSError) as exc:
                metrics.REDIS_ERRORS.labels(operation="usage_append").inc()
                if self._failures == 0:
                    log.warning("usage append failed; events kept for retry", extra={"error": type(exc).__name__})
                self._failures += 1
                return False
            for _ in batch:
                self._buffer.popleft()
            self._failures = 0
        return True

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            ok = await self.flush()
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
