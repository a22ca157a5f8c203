"""/api/evals: suites of cases, runs started here and executed by the workers through the edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.db.types import Conn
from services.control.errors import ApiError, InvalidField, NotFoundError
from services.control.params import parse_uuid
from services.control.resources.deleted import Deleted
from services.control.resources.evals import queries
from services.control.resources.evals.enqueue import enqueue_run
from services.control.resources.evals.run_key import mint_run_key
from services.control.resources.evals.schemas import (
    EvalsOverview,
    RunDetail,
    RunStart,
    RunView,
    SuiteCreate,
    SuiteDetail,
)
from services.control.resources.evals.validation import case_values, check_suite
from services.control.resources.evals.views import case_view, result_view, run_view, suite_summary
from services.control.resources.names import load_names
from shared.ids import new_id

__all__ = ["EvalsController"]

RunStatus = Literal["queued", "running", "done", "failed"]


def _suite_detail(suite: asyncpg.Record, cases: list[asyncpg.Record]) -> SuiteDetail:
    summary = suite_summary(suite)
    return SuiteDetail(**msgspec.structs.asdict(summary), cases=[case_view(row) for row in cases])


async def _resolve_suite(conn: Conn, data: RunStart) -> asyncpg.Record:
    if (data.suite_id is None) == (data.suite is None):
        raise InvalidField("suiteId", "give exactly one of suiteId and suite (the suite's name)")
    if data.suite_id is not None:
        suite = await queries.fetch_suite(conn, str(data.suite_id))
        if suite is None:
            raise InvalidField("suiteId", "no eval suite has this id", status=404)
    else:
        assert data.suite is not None
        suite = await queries.fetch_suite_by_name(conn, data.suite.strip())
        if suite is None:
            raise InvalidField("suite", f"no eval suite is named {data.suite[:100]!r}", status=404)
    return suite


async def _check_models(conn: Conn, data: RunStart) -> None:
    """The model (and judge model) must name something the edge can route: the control plane's names."""
    names = await load_names(conn)
    fields = [("model", data.model)] + ([("judgeModel", data.judge_model)] if data.judge_model else [])
    for field, model in fields:
        if not names.resolves(model.strip()):
            raise InvalidField(
                field,
                f"unknown model {model[:200]!r}: not a provider/model, alias, combo or a model a provider lists",
                status=422,
            )


class EvalsController(Controller):
    path = "/api/evals"
    tags = ["evals"]

    @get("/")
    async def overview(
        self,
        request: Request[Any, Any, Any],
        suite_id: Annotated[str | None, QueryParameter(name="suiteId", max_length=64)] = None,
        status: Annotated[RunStatus | None, QueryParameter()] = None,
        since: Annotated[datetime | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20,
    ) -> EvalsOverview:
        """Every suite with its case count, and the most recent runs (newest first) with status and pass rate."""
        pool = control_state(request).pool
        suite_filter = parse_uuid(suite_id, "eval suite") if suite_id is not None else None
        suites = await queries.fetch_suites(pool)
        runs = await queries.recent_runs(pool, suite_filter, status, since, limit)
        return EvalsOverview(suites=[suite_summary(row) for row in suites], runs=[run_view(row) for row in runs])

    @post("/", status_code=202)
    async def start_run(self, request: Request[Any, Any, Any], data: JSONBody[RunStart]) -> RunView:
        """Queue a run of a suite against a model or combo; the workers execute it."""
        state = control_state(request)
        master_key = state.settings.storage_encryption_key
        assert master_key  # the control plane refuses to start without it
        run_id = new_id()
        actor = actor_of(request)
        async with state.writer.transaction() as conn:
            suite = await _resolve_suite(conn, data)
            if int(suite["case_count"]) == 0:
                raise InvalidField("suiteId" if data.suite_id else "suite", "the suite has no cases")
            await _check_models(conn, data)  # the judge defaults to the run's model
            model = data.model.strip()
            judge = data.judge_model.strip() if data.judge_model else None
            key_id, key_enc = await mint_run_key(conn, actor, master_key, run_id, [model, judge or model])
            values = {
                "id": run_id,
                "suite_id": suite["id"],
                "model": model,
                "judge_model": judge,
                "concurrency": data.concurrency,
                "case_count": int(suite["case_count"]),
                "api_key_id": key_id,
                "api_key_enc": key_enc,
                "created_by": actor.name,
            }
            await queries.insert_run(conn, values)
            row = await queries.fetch_run(conn, run_id)
            assert row is not None
            view = run_view(row)
            await audit.record(conn, actor, "eval.run_started", "eval_run", run_id, None, msgspec.to_builtins(view))
        await enqueue_run(state.redis, run_id)
        return view

    @get("/runs/{run_id:str}")
    async def get_run(self, request: Request[Any, Any, Any], run_id: FromPath[str]) -> RunDetail:
        """One run with its per-case results (cases not yet run are absent)."""
        pool = control_state(request).pool
        ident = parse_uuid(run_id, "eval run")
        row = await queries.fetch_run(pool, ident)
        if row is None:
            raise NotFoundError("eval run")
        results = await queries.fetch_results(pool, ident)
        return RunDetail(**msgspec.structs.asdict(run_view(row)), results=[result_view(r) for r in results])

    @post("/suites", status_code=201)
    async def create_suite(self, request: Request[Any, Any, Any], data: JSONBody[SuiteCreate]) -> SuiteDetail:
        """Create a suite with its cases (cases are never edited: create a new suite instead)."""
        state = control_state(request)
        name, description = check_suite(data)
        ident = new_id()
        try:
            # suites are not gateway configuration: no config version bump, no snapshot
            async with state.pool.acquire() as conn, conn.transaction():
                await queries.insert_suite(conn, ident, name, description)
                for position, case in enumerate(data.cases):
                    await queries.insert_case(conn, new_id(), ident, position, case_values(case))
                suite = await queries.fetch_suite(conn, ident)
                assert suite is not None
                detail = _suite_detail(suite, await queries.fetch_cases(conn, ident))
                await audit.record(
                    conn,
                    actor_of(request),
                    "eval.suite_created",
                    "eval_suite",
                    ident,
                    None,
                    msgspec.to_builtins(detail),
                )
        except asyncpg.UniqueViolationError:
            raise ApiError(
                409,
                f"an eval suite named {name[:100]!r} already exists",
                "conflict",
                [{"field": "name", "message": "already exists"}],
            ) from None
        return detail

    @get("/suites/{suite_id:str}")
    async def get_suite(self, request: Request[Any, Any, Any], suite_id: FromPath[str]) -> SuiteDetail:
        pool = control_state(request).pool
        ident = parse_uuid(suite_id, "eval suite")
        suite = await queries.fetch_suite(pool, ident)
        if suite is None:
            raise NotFoundError("eval suite")
        return _suite_detail(suite, await queries.fetch_cases(pool, ident))

    @delete("/suites/{suite_id:str}", status_code=200)
    async def delete_suite(self, request: Request[Any, Any, Any], suite_id: FromPath[str]) -> Deleted:
        """Delete a suite with its runs and results; built-in suites stay (409)."""
        state = control_state(request)
        ident = parse_uuid(suite_id, "eval suite")
        async with state.pool.acquire() as conn, conn.transaction():
            suite = await queries.fetch_suite(conn, ident)
            if suite is None:
                raise NotFoundError("eval suite")
            if suite["built_in"]:
                raise ApiError(409, "built-in suites cannot be deleted", "built_in")
            await queries.delete_suite(conn, ident)
            await audit.record(
                conn,
                actor_of(request),
                "eval.suite_deleted",
                "eval_suite",
                ident,
                msgspec.to_builtins(suite_summary(suite)),
            )
        return Deleted(id=ident, deleted=True)
