"""Job: queue eval runs Postgres says are unfinished but Redis no longer holds a job for.

A run whose job was lost (Redis restarted empty, or the control plane could not reach Redis when
the run was started) would otherwise stay `queued` forever. Enqueueing uses the run's job id, so a
run whose job is still queued, running or kept as a result is left alone.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from arq.connections import ArqRedis

from shared.evals.jobs import RUN_EVAL_JOB, run_job_id

__all__ = ["resume_eval_runs"]

_GRACE_SECONDS = 30  # leave a run just started to the job the control plane queued


async def resume_eval_runs(ctx: dict[str, Any]) -> int:
    """How many runs were queued again."""
    pool: asyncpg.Pool = ctx["pool"]
    redis: ArqRedis = ctx["redis"]
    rows = await pool.fetch(
        """SELECT id FROM eval_runs WHERE status IN ('queued', 'running')
           AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 100""",
        _GRACE_SECONDS,
    )
    queued = 0
    for row in rows:
        run_id = str(row["id"])
        if await redis.enqueue_job(RUN_EVAL_JOB, run_id, _job_id=run_job_id(run_id)) is not None:
            queued += 1
    return queued
