"""Job: delete audit rows older than `auditRetentionDays` of /api/settings (default 365, null keeps all).

The setting cannot go below 30 days (services/control/resources/settings/gateway_rules.py), so the
change that shortened the trail stays on record for at least a month.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec

from services.workers.batched_delete import delete_older_than
from shared.config.gateway_settings import GeneralSettings

__all__ = ["BATCH_ROWS", "prune_audit_log"]

log = logging.getLogger(__name__)

BATCH_ROWS = 5_000


async def _retention_days(pool: asyncpg.Pool) -> int | None:
    stored = await pool.fetchval("SELECT value FROM settings WHERE key = 'general'")
    try:
        general = msgspec.convert(stored if isinstance(stored, dict) else {}, GeneralSettings)
    except msgspec.ValidationError:
        return None  # a malformed row: delete nothing rather than guess
    return general.audit_retention_days


async def prune_audit_log(ctx: dict[str, Any]) -> int:
    """Rows deleted this run."""
    pool: asyncpg.Pool = ctx["pool"]
    days = await _retention_days(pool)
    if days is None or days < 1:
        return 0
    deleted = await delete_older_than(pool, "audit_log", "id", "ts", days, BATCH_ROWS)
    if deleted:
        log.info("old audit rows deleted", extra={"rows": deleted, "retention_days": days})
    return deleted
