"""Deleting rows older than a retention period, in bounded batches (the retention jobs' shared step).

Each batch is its own short statement, so a run never holds a long lock or builds one huge
transaction; rows that land during a run are left for the next. Deleting what is already gone
deletes nothing, so a repeated or concurrent run is harmless.
"""

from __future__ import annotations

import asyncpg

from shared import metrics

__all__ = ["delete_older_than"]

MAX_BATCHES = 200  # a run stops after this many batches; the next run continues


async def delete_older_than(
    pool: asyncpg.Pool, table: str, key: str, ts_column: str, days: int, batch_rows: int
) -> int:
    """Rows deleted. `table`, `key` and `ts_column` are code constants, never input."""
    query = f"""DELETE FROM {table} WHERE {key} IN (
                    SELECT {key} FROM {table} WHERE {ts_column} < now() - make_interval(days => $1) LIMIT $2)"""  # noqa: S608 (code constants)
    deleted = 0
    for _ in range(MAX_BATCHES):
        status = await pool.execute(query, days, batch_rows)
        count = int(status.rsplit(" ", 1)[-1])
        deleted += count
        metrics.RETENTION_DELETED.labels(table=table).inc(count)
        if count < batch_rows:
            break
    return deleted
