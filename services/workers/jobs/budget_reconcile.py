"""Job: reconcile each budgeted API key's Redis counter with what Postgres recorded for its period.

For every row of `api_key_budgets`, the cost of the key's requests in the current UTC period
(`usage_events.cost_micros`) is summed and handed to the budget primitive's `reconcile`
(shared/kv/budget.py), which raises the Redis `spent` to it: after a Redis restart or flush the
counters are rebuilt, and an edge's lost settlement is made good. `spent` is never lowered: the
usage stream may not have delivered the latest requests to Postgres yet. Idempotent; the period is
chosen on Redis's clock, and the script skips a key whose period turned meanwhile.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
from redis.asyncio import Redis

from shared.budget_period import window
from shared.kv.batch import RedisBatch, Slot
from shared.kv.budget import Budgets, BudgetView

__all__ = ["reconcile_budgets"]

log = logging.getLogger(__name__)

_SPENT = """SELECT coalesce(sum(cost_micros), 0) FROM usage_events
    WHERE api_key_id = $1 AND ts >= $2 AND ts < $3"""


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


async def reconcile_budgets(ctx: dict[str, Any]) -> int:
    """How many keys were reconciled this run (a key whose period turned meanwhile is left to the next)."""
    pool: asyncpg.Pool = ctx["pool"]
    redis: Redis = ctx["redis"]
    rows = await pool.fetch("SELECT api_key_id, period FROM api_key_budgets ORDER BY api_key_id")
    if not rows:
        return 0
    seconds, micros = await redis.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    budgets = Budgets(redis)
    batch = RedisBatch(redis)
    queued: list[Slot[BudgetView]] = []
    for row in rows:
        key_id, period = str(row["api_key_id"]), row["period"]
        start, end = window(now_ms, period)
        recorded = int(await pool.fetchval(_SPENT, row["api_key_id"], _moment(start), _moment(end)))
        queued.append(budgets.reconcile(batch, key_id, period, start, recorded))
    await batch.run()
    reconciled = sum(1 for slot in queued if slot.value.done)
    log.info("budgets reconciled", extra={"keys": len(rows), "reconciled": reconciled})
    return reconciled
