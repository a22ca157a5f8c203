"""Periodic cloud sync: a control-plane task, because applying a pulled bundle needs the control
plane's config writer (audit, config version, snapshot publish), which workers may not import.
Every replica runs the loop; the sync's Redis lease and the `last_sync_at` check keep it to one
sync per interval across the cluster."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg
from redis.exceptions import RedisError

from services.control.audit import Actor
from services.control.state import ControlState
from services.control.sync.config import load_config, sync_cipher
from services.control.sync.engine import SyncFailed, sync_now

__all__ = ["run_sync_schedule", "sync_if_due"]

log = logging.getLogger(__name__)

CHECK_SECONDS = 15.0


async def sync_if_due(state: ControlState, now: datetime | None = None) -> bool:
    """Sync when enabled and the interval has passed since the last attempt; True when it ran."""
    config = await load_config(state.pool, sync_cipher(state.settings.storage_encryption_key or ""))
    if config is None or not config.enabled or config.remote_kind == "none":
        return False
    moment = now or datetime.now(UTC)
    if config.last_sync_at is not None and moment - config.last_sync_at < timedelta(seconds=config.interval_seconds):
        return False
    actor = Actor(name="sync-schedule", request_id=f"sync-{int(moment.timestamp())}", client_ip=None)
    try:
        await sync_now(state, actor)
    except SyncFailed as exc:
        log.warning("scheduled cloud sync failed", extra={"code": exc.code})
    return True


async def run_sync_schedule(state: ControlState, interval: float = CHECK_SECONDS) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await sync_if_due(state)
        except (OSError, asyncpg.PostgresError, RedisError) as exc:
            log.debug("cloud sync check failed", extra={"error": type(exc).__name__})
        except Exception as exc:  # the loop must outlive any one bad sync
            log.warning("cloud sync check failed", extra={"error": type(exc).__name__})
