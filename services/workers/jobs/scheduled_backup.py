"""Job: a scheduled backup every `backupIntervalHours` (/api/settings), keeping the newest `backupRetention`.

The cron runs hourly; the backup's job key is the interval it falls in (`scheduled:<hours>h:<n>`,
n = hours since the epoch // interval), stored UNIQUE with the backup, so each interval gets
exactly one backup however many workers run the job or however often arq retries it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
import msgspec

from shared.backups.store import take_backup
from shared.config.gateway_settings import GeneralSettings

__all__ = ["interval_key", "scheduled_backup"]

log = logging.getLogger(__name__)


def interval_key(hours: int, now: float) -> str:
    return f"scheduled:{hours}h:{int(now // (hours * 3600))}"


async def _general(pool: asyncpg.Pool) -> GeneralSettings:
    stored = await pool.fetchval("SELECT value FROM settings WHERE key = 'general'")
    try:
        return msgspec.convert(stored if isinstance(stored, dict) else {}, GeneralSettings)
    except msgspec.ValidationError:
        return GeneralSettings()  # a malformed row reads as the defaults


async def scheduled_backup(ctx: dict[str, Any], now: float | None = None) -> str | None:
    """The id of the backup taken, or None (scheduling off, or this interval already has one)."""
    pool: asyncpg.Pool = ctx["pool"]
    general = await _general(pool)
    hours = general.backup_interval_hours
    if hours is None or hours < 1:
        return None
    key = interval_key(hours, time.time() if now is None else now)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        info = await take_backup(conn, "scheduled", general.backup_retention, job_key=key)
    if info is None:
        return None
    log.info("scheduled backup taken", extra={"backup_id": info.id, "size_bytes": info.size_bytes})
    return info.id
