"""/api/compliance/audit-log: the newest audit entries, filtered, paginated by headers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get
from litestar.params import FromQuery, QueryParameter

from services.control.context import control_state

__all__ = ["audit_log"]

_FILTER = """
    WHERE ($1::text IS NULL OR action = $1 OR action LIKE $1 || '.%')
      AND ($2::text IS NULL OR actor = $2)
      AND ($3::text IS NULL OR target_id = $3)
      AND ($4::timestamptz IS NULL OR ts >= $4)
      AND ($5::timestamptz IS NULL OR ts < $5)
"""


class AuditEntry(msgspec.Struct, kw_only=True, rename="camel"):
    id: int
    timestamp: datetime
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    before: Any
    after: Any
    request_id: str | None
    client_ip: str | None


def _entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        timestamp=row["ts"],
        actor=row["actor"],
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        before=row["before"],
        after=row["after"],
        request_id=row["request_id"],
        client_ip=row["client_ip"],
    )


@get("/api/compliance/audit-log", tags=["compliance"])
async def audit_log(
    request: Request[Any, Any, Any],
    action: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    target: FromQuery[str | None] = None,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0,
) -> Response[list[AuditEntry]]:
    """Newest first; `action` matches exactly or as a prefix (`provider` matches `provider.created`)."""
    pool = control_state(request).pool
    args = (action, actor, target, since, until)
    rows = await pool.fetch(
        f"SELECT * FROM audit_log {_FILTER} ORDER BY ts DESC, id DESC LIMIT $6 OFFSET $7",  # noqa: S608
        *args,
        limit,
        offset,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM audit_log {_FILTER}", *args)  # noqa: S608
    headers = {"x-total-count": str(total), "x-page-limit": str(limit), "x-page-offset": str(offset)}
    return Response([_entry(r) for r in rows], headers=headers)
