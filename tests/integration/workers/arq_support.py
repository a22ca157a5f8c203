"""Running worker jobs the way production does: arq workers in burst mode on the real Redis.

A cron slot is a job id (`cron:<name>:<slot ms>`): every worker enqueues the slot, arq keeps one,
and one worker runs it. The helpers enqueue a slot once per worker the same way and let burst-mode
workers run it (a real cron schedule would add a second slot whenever a run crosses its time).
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.typing import WorkerCoroutine
from arq.worker import Worker, func

from shared import jsonx


def burst_worker(url: str, job: WorkerCoroutine, ctx: dict[str, Any]) -> Worker:
    """A worker that runs the queued jobs and stops once the queue is empty."""
    return Worker(
        functions=[func(job, name=job.__qualname__, timeout=60)],
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
    """One burst-mode worker per context, concurrently, each having enqueued the same cron slot;
    what the job returned in each run."""
    returned: list[Any] = []

    @functools.wraps(job)
    async def recording(ctx: dict[Any, Any]) -> Any:
        result = await job(ctx)
        returned.append(result)
        return result

    slot = f"cron:{job.__qualname__}:{time.time_ns()}"
    queue = await create_pool(RedisSettings.from_dsn(url), job_serializer=jsonx.dumps, job_deserializer=jsonx.loads)
    try:
        for _ in contexts:  # every worker enqueues the slot; arq keeps the first
            await queue.enqueue_job(job.__qualname__, _job_id=slot)
    finally:
        await queue.aclose()
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
