"""Run and failure counts and durations for every job, under the job's own name."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq.typing import WorkerCoroutine

from shared import metrics

__all__ = ["measured"]

T = TypeVar("T")


def measured(job: Callable[..., Awaitable[T]]) -> WorkerCoroutine:
    name = job.__name__

    @functools.wraps(job)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            result = await job(ctx, *args, **kwargs)
        except BaseException:  # arq's job timeout is a CancelledError: count it too
            metrics.JOB_RUNS.labels(job=name, result="failed").inc()
            raise
        finally:
            metrics.JOB_DURATION.labels(job=name).observe(time.perf_counter() - started)
        metrics.JOB_RUNS.labels(job=name, result="ok").inc()
        return result

    return run
