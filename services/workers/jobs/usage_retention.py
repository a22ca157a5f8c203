"""Job: delete request logs (usage_events) older than `usageRetentionDays` of /api/settings.

Unset (the default) keeps everything. Deletes in bounded batches so one run never holds a long
lock or a huge transaction; rows that land during a run are simply left for the next.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec

from shared.config.gateway_settings import GeneralSettings

__all__ = ["BATCH_ROWS", "prune_usage"]

log = logging.getLogger(__name__)

BATCH_ROWS = 5_000
_MAX_BATCHES = 200  # at most a million rows a run; the next run continues


async def _retention_days(pool: asyncpg.Pool) -> int | None:
    stored = await pool.fetchval("SELECT value FROM settings WHERE key = 'general'")
    try:
        general = msgspec.convert(stored if isinstance(stored, dict) else {}, GeneralSettings)
    except msgspec.ValidationError:
        return None  # a malformed row reads as the defaults: keep everything
    return general.usage_retention_days


async def prune_usage(ctx: dict[str, Any]) -> int:
    """Rows deleted this run."""
    pool: asyncpg.Pool = ctx["pool"]
    days = await _retention_days(pool)
    if days is None or days < 1:
        return 0
    deleted = 0
    for _ in range(_MAX_BATCHES):
        status = await pool.execute(
            """DELETE FROM usage_events WHERE request_id IN (
                   SELECT request_id FROM usage_events WHERE ts < now() - make_interval(days => $1) LIMIT $2)""",
            days,
            BATCH_ROWS,
        )
        count = int(status.rsplit(" ", 1)[-1])
        deleted += count
        if count < BATCH_ROWS:
            break
    if deleted:
        log.info("old request logs deleted", extra={"rows": deleted, "retention_days": days})
    return deleted
