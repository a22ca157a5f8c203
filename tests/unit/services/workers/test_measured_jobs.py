"""Job metrics: runs, failures and durations under the job's own name."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.workers.jobs.measured import measured


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_successes_and_failures_are_counted() -> None:
    async def tidy_up(ctx: dict[str, Any]) -> int:
        return len(ctx)

    async def explode(ctx: dict[str, Any]) -> int:
        raise RuntimeError("boom")

    ok_before = sample("omniroute_job_runs_total", job="tidy_up", result="ok")
    assert await measured(tidy_up)({"a": 1}) == 1
    assert sample("omniroute_job_runs_total", job="tidy_up", result="ok") == ok_before + 1
    assert sample("omniroute_job_duration_seconds_count", job="tidy_up") >= 1

    failed_before = sample("omniroute_job_runs_total", job="explode", result="failed")
    with pytest.raises(RuntimeError):
        await measured(explode)({})
    assert sample("omniroute_job_runs_total", job="explode", result="failed") == failed_before + 1
    assert measured(tidy_up).__qualname__.endswith("tidy_up")  # arq names cron jobs by this
