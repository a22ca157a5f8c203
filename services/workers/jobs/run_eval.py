"""Job: run one eval run's cases through the edge, score them, and total the run.

Idempotent by its job id (the run id): a finished run is left alone, a repeated or resumed
execution runs only the cases without a result (results are unique per run and case), so a
worker that crashed mid-run resumes without duplicating anything. At most `concurrency` cases
(each with its judge call) are in flight at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from services.workers.evals import store
from services.workers.evals.case_runner import EvalCase, run_case
from services.workers.evals.runtime import EvalsRuntime
from shared.crypto import DecryptionError

__all__ = ["MAX_TRIES", "run_eval"]

log = logging.getLogger(__name__)

MAX_TRIES = 5  # the worker's arq max_tries: the last try marks the run failed instead of raising


def _run_key(runtime: EvalsRuntime, run: asyncpg.Record) -> str | None:
    if runtime.cipher is None or run["api_key_enc"] is None:
        return None
    try:
        return runtime.cipher.decrypt_text(bytes(run["api_key_enc"]), str(run["id"]))
    except DecryptionError:
        return None


async def _run_cases(pool: asyncpg.Pool, runtime: EvalsRuntime, run: asyncpg.Record, key: str) -> None:
    run_id = str(run["id"])
    model = run["model"]
    judge = run["judge_model"] or model
    seats = asyncio.Semaphore(run["concurrency"])

    async def one(case: EvalCase) -> None:
        async with seats:
            result = await run_case(runtime.client, key, model, judge, case)
        await store.store_result(pool, run_id, result)

    cases = await store.pending_cases(pool, run_id, str(run["suite_id"]))
    await asyncio.gather(*(one(case) for case in cases))


async def run_eval(ctx: dict[str, Any], run_id: str) -> dict[str, Any]:
    pool: asyncpg.Pool = ctx["pool"]
    runtime: EvalsRuntime = ctx["evals"]
    run = await store.claim_run(pool, run_id)
    if run is None:
        return {"status": "skipped"}  # finished already, or deleted with its suite
    key = _run_key(runtime, run)
    if key is None:
        await store.fail_run(pool, run_id, "the run's API key cannot be read (STORAGE_ENCRYPTION_KEY unset or changed)")
        return {"status": "failed"}
    try:
        await _run_cases(pool, runtime, run, key)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        if int(ctx.get("job_try") or 1) >= MAX_TRIES:
            await store.fail_run(pool, run_id, f"stopped after {MAX_TRIES} tries: {type(exc).__name__}")
            return {"status": "failed"}
        raise  # arq retries; the next try resumes with the cases still missing
    finished = await store.finish_run(pool, run_id)
    log.info("eval run finished", extra={"run": run_id, **store.summary(finished)})
    return store.summary(finished) or {"status": "skipped"}
