"""Running worker cron jobs the way production does: arq workers in burst mode on the real Redis."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.typing import WorkerCoroutine
from arq.worker import Worker

from shared import jsonx


def burst_worker(url: str, job: WorkerCoroutine, ctx: dict[str, Any]) -> Worker:
    """A worker that enqueues `job` as a cron job at startup, runs it, and stops once the queue is empty."""
    return Worker(
        functions=[],
        cron_jobs=[cron(job, run_at_startup=True, timeout=60)],
        redis_settings=RedisSettings.from_dsn(url),
        ctx=ctx,
        job_serializer=jsonx.dumps,
        job_deserializer=jsonx.loads,
        handle_signals=False,
        burst=True,
        poll_delay=0.05,
        max_tries=1,
    )


async def run_bursts(url: str, job: WorkerCoroutine, contexts: list[dict[str, Any]]) -> list[Any]:
    """One burst-mode worker per context, concurrently; what the job returned in each run, in order."""
    returned: list[Any] = []

    @functools.wraps(job)
    async def recording(ctx: dict[Any, Any]) -> Any:
        result = await job(ctx)
        returned.append(result)
        return result

    workers = [burst_worker(url, recording, ctx) for ctx in contexts]
    try:
        await asyncio.gather(*(worker.main() for worker in workers))
    finally:
        await asyncio.gather(*(worker.close() for worker in workers))
    assert sum(worker.jobs_failed for worker in workers) == 0
    return returned


async def run_burst(url: str, job: WorkerCoroutine, ctx: dict[str, Any]) -> Any:
    """Run `job` once through an arq worker; what it returned."""
    returned = await run_bursts(url, job, [ctx])
    assert len(returned) == 1, returned
    return returned[0]
