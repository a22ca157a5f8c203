"""The eval tables as the worker uses them: claim a run, list what is left, store results, finish.

Every write is safe to repeat: results are keyed by (run, case) and inserted with ON CONFLICT DO
NOTHING, and the status moves only forward (queued -> running -> done | failed).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.workers.evals.case_runner import CaseResult, EvalCase

__all__ = ["RUN_RESUMABLE", "claim_run", "fail_run", "finish_run", "pending_cases", "store_result"]

RUN_RESUMABLE = ("queued", "running")


async def claim_run(pool: asyncpg.Pool, run_id: str) -> asyncpg.Record | None:
    """Mark the run running (kept when resumed) and return it; None when it is finished or gone."""
    return await pool.fetchrow(
        """UPDATE eval_runs SET status = 'running', started_at = coalesce(started_at, now())
           WHERE id = $1 AND status = ANY($2::text[]) RETURNING *""",
        run_id,
        list(RUN_RESUMABLE),
    )


async def pending_cases(pool: asyncpg.Pool, run_id: str, suite_id: str) -> list[EvalCase]:
    """The suite's cases that have no result in this run yet, in order."""
    rows = await pool.fetch(
        """SELECT c.* FROM eval_cases c
           WHERE c.suite_id = $2 AND NOT EXISTS (SELECT 1 FROM eval_results x WHERE x.run_id = $1 AND x.case_id = c.id)
           ORDER BY c.position""",
        run_id,
        suite_id,
    )
    return [
        EvalCase(
            id=str(row["id"]),
            position=row["position"],
            messages=list(row["messages"]),
            scoring=row["scoring"],
            expected=row["expected"],
            case_sensitive=row["case_sensitive"],
            rubric=row["rubric"],
            max_tokens=row["max_tokens"],
            temperature=row["temperature"],
        )
        for row in rows
    ]


async def store_result(pool: asyncpg.Pool, run_id: str, result: CaseResult) -> bool:
    """True when stored now; False when this case already had a result (a repeated execution)."""
    status = await pool.execute(
        """INSERT INTO eval_results (run_id, case_id, position, started_at, output, passed, score, latency_ms,
                                     tokens_in, tokens_out, cost_micros, judge_output, judge_cost_micros, request_id,
                                     error)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (run_id, case_id) DO NOTHING""",
        run_id,
        result.case_id,
        result.position,
        result.started_at,
        _clean(result.output),
        result.passed,
        result.score,
        result.latency_ms,
        result.tokens_in,
        result.tokens_out,
        result.cost_micros,
        _clean(result.judge_output),
        result.judge_cost_micros,
        result.request_id,
        _clean(result.error),
    )
    return status.endswith(" 1")


def _clean(text: str | None) -> str | None:
    """Postgres text cannot hold NUL characters; a model may still produce one."""
    return text.replace("\x00", "\ufffd") if text is not None else None


async def _retire_key(conn: Any, run: asyncpg.Record | None) -> None:
    """Revoke the run's minted key in the transaction that ends the run.

    Bumping `config_version` (a configuration write like the control plane's: the row lock orders
    it with theirs) makes the control plane's backstop publish a snapshot without the key within
    its republish interval, so the key stops working on every edge soon after the run ends instead
    of at its expiry."""
    if run is None or run["api_key_id"] is None:
        return
    revoked = await conn.execute(
        "UPDATE api_keys SET revoked_at = now(), updated_at = now() WHERE id = $1 AND revoked_at IS NULL",
        run["api_key_id"],
    )
    if revoked.endswith(" 0"):
        return
    await conn.execute("UPDATE config_version SET version = version + 1 WHERE id = 1")
    await conn.execute(
        """INSERT INTO audit_log (actor, action, target_type, target_id, after)
           VALUES ('worker', 'key.revoked', 'api_key', $1, $2)""",
        str(run["api_key_id"]),
        {"reason": f"eval run {run['id']} {run['status']}", "evalRunId": str(run["id"])},
    )


async def finish_run(pool: asyncpg.Pool, run_id: str) -> asyncpg.Record | None:
    """Totals from the stored results; the run's key is forgotten and revoked. None when already finished."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_FINISH, run_id)
        await _retire_key(conn, row)
    return row


_FINISH = """WITH totals AS (
               SELECT count(*) AS completed,
                      count(*) FILTER (WHERE passed) AS passed,
                      count(*) FILTER (WHERE error IS NOT NULL) AS errors,
                      avg(latency_ms) AS avg_latency,
                      coalesce(sum(tokens_in), 0) AS tokens_in,
                      coalesce(sum(tokens_out), 0) AS tokens_out,
                      coalesce(sum(cost_micros), 0) AS cost,
                      coalesce(sum(judge_cost_micros), 0) AS judge_cost
               FROM eval_results WHERE run_id = $1)
           UPDATE eval_runs r SET status = 'done', finished_at = now(), api_key_enc = NULL,
                  case_count = totals.completed, passed_count = totals.passed,
                  failed_count = totals.completed - totals.passed, error_count = totals.errors,
                  pass_rate = CASE WHEN totals.completed > 0 THEN totals.passed::real / totals.completed END,
                  avg_latency_ms = totals.avg_latency, tokens_in = totals.tokens_in, tokens_out = totals.tokens_out,
                  cost_micros = totals.cost, judge_cost_micros = totals.judge_cost
           FROM totals WHERE r.id = $1 AND r.status = 'running' RETURNING r.*"""


async def fail_run(pool: asyncpg.Pool, run_id: str, error: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """UPDATE eval_runs SET status = 'failed', finished_at = now(), api_key_enc = NULL, error = $2
               WHERE id = $1 AND status = ANY($3::text[]) RETURNING *""",
            run_id,
            error[:1000],
            list(RUN_RESUMABLE),
        )
        await _retire_key(conn, row)


def summary(row: asyncpg.Record | None) -> dict[str, Any]:
    if row is None:
        return {}
    return {"status": row["status"], "passed": row["passed_count"], "cases": row["case_count"]}
