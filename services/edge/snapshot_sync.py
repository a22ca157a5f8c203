"""Keeping the edge's config current: load at start, swap on announcement, poll as a backstop.

If Redis is unreachable the edge keeps serving its last snapshot; it never goes back to an older
version, and a snapshot that fails to decrypt or decode is logged and ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared import metrics
from shared.config.snapshot import SnapshotCodec
from shared.crypto import DecryptionError
from shared.kv import keys
from shared.kv.config_channel import ConfigChannel
from shared.routing.config import EdgeConfig

__all__ = ["ConfigHolder", "SnapshotSync"]

log = logging.getLogger(__name__)


class ConfigHolder:
    """The current EdgeConfig; replaced by assignment, which is atomic for readers."""

    __slots__ = ("current", "loaded")

    def __init__(self) -> None:
        self.current = EdgeConfig.empty()
        self.loaded = asyncio.Event()

    def swap(self, config: EdgeConfig) -> bool:
        if config.version <= self.current.version:
            return False
        self.current = config
        self.loaded.set()
        metrics.CONFIG_VERSION.set(config.version)
        return True


class SnapshotSync:
    def __init__(
        self,
        redis: Redis,
        codec: SnapshotCodec,
        holder: ConfigHolder,
        poll_seconds: float,
        on_swap: Callable[[EdgeConfig], None] | None = None,
    ) -> None:
        self._redis = redis
        self._channel = ConfigChannel(redis)
        self._codec = codec
        self._holder = holder
        self._poll_seconds = poll_seconds
        self._load_lock = asyncio.Lock()
        self._on_swap = on_swap  # e.g. let go of proxies the new config no longer names

    async def load(self, trigger: str) -> bool:
        """Fetch the current snapshot and swap it in if it is newer."""
        async with self._load_lock:
            stored = await self._channel.load()
            if stored is None or stored.version <= self._holder.current.version:
                return False
            try:
                snapshot = self._codec.decode(stored.blob, stored.version)
            except (DecryptionError, ValueError) as exc:
                log.error(
                    "config snapshot could not be decoded; keeping the current one",
                    extra={"version": stored.version, "error": type(exc).__name__},
                )
                return False
            config = EdgeConfig(snapshot)
            swapped = self._holder.swap(config)
            if swapped and self._on_swap is not None:
                self._on_swap(config)
        if swapped:
            metrics.CONFIG_RELOADS.labels(trigger=trigger).inc()
            log.info("config snapshot loaded", extra={"version": snapshot.version, "trigger": trigger})
        return swapped

    async def _listen(self) -> None:
        """React to announcements within milliseconds."""
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(keys.CONFIG_ANNOUNCE_CHANNEL)
                await self.load("subscribe")  # catch up on anything announced while unsubscribed
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None:
                        continue
                    try:
                        announced = int(message["data"])
                    except (TypeError, ValueError):
                        continue
                    if announced > self._holder.current.version:
                        await self.load("announce")
            except (RedisError, OSError) as exc:
                metrics.REDIS_ERRORS.labels(operation="config_subscribe").inc()
                log.warning("config subscription lost; retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _poll(self) -> None:
        """The backstop: a lost announcement heals within one poll interval."""
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                if await self._channel.current_version() > self._holder.current.version:
                    await self.load("poll")
            except (RedisError, OSError):
                metrics.REDIS_ERRORS.labels(operation="config_poll").inc()

    async def run(self) -> None:
        try:
            await self.load("start")
        except (RedisError, OSError):
            metrics.REDIS_ERRORS.labels(operation="config_load").inc()
            log.warning("no config snapshot at start (Redis unreachable); will keep trying")
        await asyncio.gather(self._listen(), self._poll())
