"""SQL for eval suites, cases, runs and results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.control.db.types import Conn, Executor

__all__ = [
    "count_completed",
    "delete_suite",
    "fetch_cases",
    "fetch_results",
    "fetch_run",
    "fetch_suite",
    "fetch_suite_by_name",
    "fetch_suites",
    "insert_case",
    "insert_run",
    "insert_suite",
    "recent_runs",
]

_RUN = """SELECT r.*, s.name AS suite_name,
                 (SELECT count(*) FROM eval_results x WHERE x.run_id = r.id) AS completed_count
          FROM eval_runs r JOIN eval_suites s ON s.id = r.suite_id"""
_RUN_BY_ID = _RUN + " WHERE r.id = $1"
_RECENT_RUNS = (
    _RUN
    + """ WHERE ($1::uuid IS NULL OR r.suite_id = $1) AND ($2::text IS NULL OR r.status = $2)
          AND ($3::timestamptz IS NULL OR r.created_at >= $3)
        ORDER BY r.created_at DESC, r.id LIMIT $4"""
)


async def fetch_suites(conn: Executor) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT s.*, (SELECT count(*) FROM eval_cases c WHERE c.suite_id = s.id) AS case_count
               FROM eval_suites s ORDER BY s.built_in DESC, s.name"""
        )
    )


async def fetch_suite(conn: Executor, ident: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT s.*, (SELECT count(*) FROM eval_cases c WHERE c.suite_id = s.id) AS case_count
           FROM eval_suites s WHERE s.id = $1""",
        ident,
    )


async def fetch_suite_by_name(conn: Executor, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT s.*, (SELECT count(*) FROM eval_cases c WHERE c.suite_id = s.id) AS case_count
           FROM eval_suites s WHERE s.name = $1""",
        name,
    )


async def fetch_cases(conn: Executor, suite_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM eval_cases WHERE suite_id = $1 ORDER BY position", suite_id))


async def insert_suite(conn: Conn, ident: str, name: str, description: str) -> None:
    await conn.execute("INSERT INTO eval_suites (id, name, description) VALUES ($1, $2, $3)", ident, name, description)


async def insert_case(conn: Conn, ident: str, suite_id: str, position: int, values: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO eval_cases (id, suite_id, position, name, messages, expected, scoring, case_sensitive, rubric,
                                   max_tokens, temperature)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        ident,
        suite_id,
        position,
        values["name"],
        values["messages"],
        values["expected"],
        values["scoring"],
        values["case_sensitive"],
        values["rubric"],
        values["max_tokens"],
        values["temperature"],
    )


async def delete_suite(conn: Conn, ident: str) -> None:
    await conn.execute("DELETE FROM eval_suites WHERE id = $1", ident)


async def insert_run(conn: Conn, values: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO eval_runs (id, suite_id, model, judge_model, concurrency, case_count, api_key_id, api_key_enc,
                                  created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        values["id"],
        values["suite_id"],
        values["model"],
        values["judge_model"],
        values["concurrency"],
        values["case_count"],
        values["api_key_id"],
        values["api_key_enc"],
        values["created_by"],
    )


async def fetch_run(conn: Executor, ident: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_RUN_BY_ID, ident)


async def recent_runs(
    conn: Executor, suite_id: str | None, status: str | None, since: datetime | None, limit: int
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            _RECENT_RUNS,
            suite_id,
            status,
            since,
            limit,
        )
    )


async def fetch_results(conn: Executor, run_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT x.*, c.name, c.scoring FROM eval_results x JOIN eval_cases c ON c.id = x.case_id
               WHERE x.run_id = $1 ORDER BY x.position""",
            run_id,
        )
    )


async def count_completed(conn: Executor, run_id: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM eval_results WHERE run_id = $1", run_id))
