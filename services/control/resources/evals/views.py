"""Rows of the eval tables as their wire shapes."""

from __future__ import annotations

import asyncpg

from services.control.resources.evals.schemas import CaseView, ResultView, RunView, SuiteSummary

__all__ = ["case_view", "result_view", "run_view", "suite_summary"]


def suite_summary(row: asyncpg.Record) -> SuiteSummary:
    return SuiteSummary(
        id=str(row["id"]),
        name=row["name"],
        description=row["description"],
        built_in=row["built_in"],
        case_count=int(row["case_count"]),
        created_at=row["created_at"],
    )


def case_view(row: asyncpg.Record) -> CaseView:
    return CaseView(
        id=str(row["id"]),
        position=row["position"],
        name=row["name"],
        messages=list(row["messages"]),
        scoring=row["scoring"],
        expected=row["expected"],
        case_sensitive=row["case_sensitive"],
        rubric=row["rubric"],
        max_tokens=row["max_tokens"],
        temperature=row["temperature"],
    )


def run_view(row: asyncpg.Record) -> RunView:
    return RunView(
        id=str(row["id"]),
        suite_id=str(row["suite_id"]),
        suite=row["suite_name"],
        model=row["model"],
        judge_model=row["judge_model"],
        concurrency=row["concurrency"],
        status=row["status"],
        case_count=row["case_count"],
        completed_count=int(row["completed_count"]),
        passed_count=row["passed_count"],
        failed_count=row["failed_count"],
        error_count=row["error_count"],
        pass_rate=row["pass_rate"],
        avg_latency_ms=row["avg_latency_ms"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        cost_micros=row["cost_micros"],
        judge_cost_micros=row["judge_cost_micros"],
        error=row["error"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def result_view(row: asyncpg.Record) -> ResultView:
    return ResultView(
        case_id=str(row["case_id"]),
        position=row["position"],
        name=row["name"],
        scoring=row["scoring"],
        output=row["output"],
        passed=row["passed"],
        score=row["score"],
        latency_ms=row["latency_ms"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        cost_micros=row["cost_micros"],
        judge_output=row["judge_output"],
        judge_cost_micros=row["judge_cost_micros"],
        request_id=row["request_id"],
        error=row["error"],
    )
