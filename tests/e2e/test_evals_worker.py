"""Eval runs executed by the real arq job in burst mode, through a real edge and the fake upstream.

The stack runs without its own worker so the test's burst worker (built by the worker process's
`build_arq_worker`, the same job list the process runs) is the only one taking jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis
from arq.connections import ArqRedis, RedisSettings, create_pool

from services.cli.local_stack import EdgeSpec
from services.workers.db import create_pool as create_worker_pool
from services.workers.evals.edge_client import EdgeClient
from services.workers.evals.runtime import EvalsRuntime
from services.workers.jobs.resume_evals import resume_eval_runs
from services.workers.main import build_arq_worker
from services.workers.usage_ingest import UsageIngestor
from shared import jsonx
from shared.crypto import FieldCipher
from shared.evals.jobs import KEY_PURPOSE, RUN_EVAL_JOB, run_job_id
from shared.settings import Settings
from tests.support.env import STORAGE_KEY, database_url, free_port, redis_url, settings_for
from tests.support.stack import E2EStack, start_stack

DATABASE = "omniroute_e2e_evals"
REDIS_DB = 2  # this test's own db (slot 0 after merge); the stack and the burst worker share it
MODEL = "openai/gpt-4o-mini"
DELAY_MS = 250
CONCURRENCY = 2


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"{text} [[fake delay_ms={DELAY_MS}]]"}]


def echo(text: str) -> str:
    """What the fake upstream answers to `ask(text)`."""
    return f"Hello! You said: {text} [[fake delay_ms={DELAY_MS}]]"


# (case, expected to pass)
CASES: list[tuple[dict[str, Any], bool]] = [
    ({"name": "exact", "messages": ask("ping"), "scoring": "exact", "expected": f"  {echo('ping')}\n"}, True),
    ({"name": "exact-miss", "messages": ask("ping"), "scoring": "exact", "expected": "pong"}, False),
    ({"messages": ask("Shout"), "scoring": "contains", "expected": "SHOUT", "caseSensitive": False}, True),
    ({"messages": ask("Shout"), "scoring": "contains", "expected": "SHOUT"}, False),
    ({"messages": ask("2+2=4"), "scoring": "regex", "expected": r"\b4\b"}, True),
    ({"messages": ask("no digits"), "scoring": "regex", "expected": r"^\d+$"}, False),
    # the fake echoes the judge's prompt, which starts with the rubric: the rubric decides here
    ({"messages": ask("greet me"), "scoring": "judge", "rubric": "Greets the user. VERDICT: PASS"}, True),
    ({"messages": ask("greet me"), "scoring": "judge", "rubric": "Must be French. VERDICT: FAIL"}, False),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    url = redis_url(REDIS_DB)
    redis.Redis.from_url(url).flushdb()
    started = start_stack(
        DATABASE, tmp_path_factory.mktemp("evals-stack"), url, REDIS_DB, (EdgeSpec(free_port()),), with_worker=False
    )
    try:
        yield started
    finally:
        started.admin.close()
        started.stack.stop()


@pytest.fixture
async def runtime(stack: E2EStack) -> AsyncIterator[dict[str, Any]]:
    settings: Settings = settings_for(DATABASE, REDIS_DB)
    pool = await create_worker_pool(database_url(DATABASE))
    arq: ArqRedis = await create_pool(
        RedisSettings.from_dsn(redis_url(REDIS_DB)), job_serializer=jsonx.dumps, job_deserializer=jsonx.loads
    )
    session = aiohttp.ClientSession()
    evals = EvalsRuntime(EdgeClient(session, stack.edges[0], 30), FieldCipher(STORAGE_KEY, KEY_PURPOSE))
    ctx: dict[str, Any] = {"pool": pool, "evals": evals, "usage_ingestor": UsageIngestor(pool, arq, "evals-test")}
    try:
        yield {"settings": settings, "ctx": ctx, "pool": pool, "arq": arq}
    finally:
        await session.close()
        await arq.aclose()
        await pool.close()


async def burst(runtime: dict[str, Any]) -> None:
    worker = build_arq_worker(runtime["settings"], dict(runtime["ctx"]))
    worker.burst = True
    try:
        await worker.async_run()
    finally:
        await worker.close()


def start_run(stack: E2EStack, **body: Any) -> dict[str, Any]:
    response = stack.admin.post("/api/evals", json={"model": MODEL, **body})
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    return run


def run_detail(stack: E2EStack, run_id: str) -> dict[str, Any]:
    response = stack.admin.get(f"/api/evals/runs/{run_id}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def key_refused(stack: E2EStack, key: str, timeout: float = 10.0) -> bool:
    """Whether the edge refuses `key` within `timeout` (the snapshot without it has arrived)."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            headers = {"authorization": f"Bearer {key}"}
            async with session.get(f"{stack.edges[0]}/v1/models", headers=headers) as response:
                if response.status == 401:
                    return True
            await asyncio.sleep(0.1)
    return False


def max_in_flight(rows: list[asyncpg.Record]) -> int:
    """The most calls whose [start, start + latency) spans overlap (1 ms of clock slack)."""
    events: list[tuple[Any, int]] = []
    for row in rows:
        start = row["started_at"]
        events.append((start, 1))
        events.append((start + timedelta(milliseconds=row["latency_ms"] - 1), -1))
    current = peak = 0
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):
        current += step
        peak = max(peak, current)
    return peak


async def test_the_built_in_suite_passes_against_the_fake_upstream(stack: E2EStack, runtime: dict[str, Any]) -> None:
    run = start_run(stack, suite="gateway-smoke")
    await burst(runtime)
    detail = run_detail(stack, run["id"])
    assert detail["status"] == "done", detail
    assert [r["passed"] for r in detail["results"]] == [True, True, True, True], detail["results"]
    assert (detail["passRate"], detail["passedCount"], detail["errorCount"]) == (1.0, 4, 0)
    judged = detail["results"][3]
    assert judged["judgeOutput"] and "VERDICT: PASS" in judged["judgeOutput"]


async def test_a_suite_runs_scored_bounded_measured_and_exactly_once(stack: E2EStack, runtime: dict[str, Any]) -> None:
    created = stack.admin.post("/api/evals/suites", json={"name": "worker-e2e", "cases": [c for c, _ in CASES]})
    assert created.status_code == 201, created.text
    run = start_run(stack, suiteId=created.json()["id"], concurrency=CONCURRENCY)
    arq: ArqRedis = runtime["arq"]
    # enqueueing the same run again while it is queued does nothing
    assert await arq.enqueue_job(RUN_EVAL_JOB, run["id"], _job_id=run_job_id(run["id"])) is None
    pool: asyncpg.Pool = runtime["pool"]
    enc = await pool.fetchval("SELECT api_key_enc FROM eval_runs WHERE id = $1", run["id"])
    run_key = FieldCipher(STORAGE_KEY, KEY_PURPOSE).decrypt_text(bytes(enc), run["id"])

    await burst(runtime)

    detail = run_detail(stack, run["id"])
    results = detail["results"]
    assert detail["status"] == "done", detail
    assert [r["passed"] for r in results] == [passed for _, passed in CASES], results
    assert results[0]["output"] == echo("ping")
    assert all(r["error"] is None for r in results), results
    passed = sum(passed for _, passed in CASES)
    assert (detail["passedCount"], detail["failedCount"], detail["completedCount"]) == (passed, len(CASES) - passed, 8)
    assert detail["passRate"] == pytest.approx(passed / len(CASES))
    # latency, tokens and cost per case (from the edge's headers) and per run
    assert all(r["latencyMs"] >= DELAY_MS for r in results)
    assert all(r["tokensIn"] > 0 and r["tokensOut"] > 0 and r["costMicros"] > 0 for r in results), results
    assert all(r["requestId"] for r in results)
    assert detail["tokensIn"] == sum(r["tokensIn"] for r in results)
    assert detail["costMicros"] == sum(r["costMicros"] for r in results)
    judged = [r for r in results if r["scoring"] == "judge"]
    assert detail["judgeCostMicros"] == sum(r["judgeCostMicros"] for r in judged) > 0
    assert detail["avgLatencyMs"] >= DELAY_MS
    # bounded concurrency: never more than `concurrency` calls in flight, and the bound was used
    rows = await pool.fetch("SELECT started_at, latency_ms FROM eval_results WHERE run_id = $1", run["id"])
    assert max_in_flight(list(rows)) == CONCURRENCY
    # the run's key is forgotten once the run is over
    assert await pool.fetchval("SELECT api_key_enc FROM eval_runs WHERE id = $1", run["id"]) is None
    # ... and revoked, audited, on its way out of the edges' snapshot (the control plane's backstop)
    key_id = await pool.fetchval("SELECT api_key_id FROM eval_runs WHERE id = $1", run["id"])
    assert await pool.fetchval("SELECT revoked_at FROM api_keys WHERE id = $1", key_id) is not None
    audited = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'key.revoked' AND target_id = $1", str(key_id)
    )
    assert audited == 1
    listed = stack.admin.get("/api/keys", params={"includeRevoked": "true"}).json()["keys"]
    assert [k["id"] for k in listed if k["id"] == str(key_id)] == [str(key_id)]
    assert await key_refused(stack, run_key)

    # a finished run enqueued again (its arq result expired, or by hand under another id) does nothing
    ids = {r["caseId"]: r["requestId"] for r in results}
    await arq.enqueue_job(RUN_EVAL_JOB, run["id"], _job_id=f"again-{run['id']}")
    await burst(runtime)
    again = run_detail(stack, run["id"])
    assert {r["caseId"]: r["requestId"] for r in again["results"]} == ids
    assert again["finishedAt"] == detail["finishedAt"]


async def test_a_crashed_run_resumes_with_only_the_missing_cases(stack: E2EStack, runtime: dict[str, Any]) -> None:
    run = start_run(stack, suite="gateway-smoke", concurrency=4)
    pool: asyncpg.Pool = runtime["pool"]
    await burst(runtime)
    kept = {r["caseId"]: r["requestId"] for r in run_detail(stack, run["id"])["results"][:2]}
    # as if the worker died after two cases: the rest of the results never landed, the run still running
    key = await pool.fetchval(
        "SELECT api_key_enc FROM eval_runs WHERE id = $1", run["id"]
    )  # cleared on finish: put a fresh copy back as the control plane left it
    assert key is None
    raw_key = stack.create_key("resume", scopes=["inference"])["key"]
    enc = FieldCipher(STORAGE_KEY, KEY_PURPOSE).encrypt_text(raw_key, run["id"])
    await pool.execute(
        "DELETE FROM eval_results WHERE run_id = $1 AND NOT (case_id = ANY($2::uuid[]))", run["id"], list(kept)
    )
    await pool.execute(
        "UPDATE eval_runs SET status = 'running', finished_at = NULL, api_key_enc = $2 WHERE id = $1", run["id"], enc
    )
    await runtime["arq"].enqueue_job(RUN_EVAL_JOB, run["id"], _job_id=f"resume-{run['id']}")
    await burst(runtime)
    detail = run_detail(stack, run["id"])
    assert detail["status"] == "done" and detail["completedCount"] == 4 and detail["passRate"] == 1.0
    resumed = {r["caseId"]: r["requestId"] for r in detail["results"]}
    assert all(resumed[case] == request for case, request in kept.items())  # the two kept results untouched
    assert await pool.fetchval("SELECT count(*) FROM eval_results WHERE run_id = $1", run["id"]) == 4


async def test_a_run_whose_job_redis_lost_is_queued_again(stack: E2EStack, runtime: dict[str, Any]) -> None:
    run = start_run(stack, suite="gateway-smoke")
    arq: ArqRedis = runtime["arq"]
    pool: asyncpg.Pool = runtime["pool"]
    # Redis restarted empty: the job is gone, Postgres still says queued
    await arq.delete(f"arq:job:{run_job_id(run['id'])}")
    await arq.zrem("arq:queue", run_job_id(run["id"]))
    ctx = {**runtime["ctx"], "redis": arq}
    assert await resume_eval_runs(ctx) == 0  # too recent: the control plane's own job may be on its way
    await pool.execute("UPDATE eval_runs SET created_at = now() - interval '1 minute' WHERE id = $1", run["id"])
    assert await resume_eval_runs(ctx) == 1
    assert await resume_eval_runs(ctx) == 0  # queued once
    await burst(runtime)
    assert run_detail(stack, run["id"])["status"] == "done"
