"""/api/compliance/audit-log: the newest audit entries, filtered, paginated by headers.

Filters: `action` (exact, or a dotted prefix: `key` matches `key.created`; a trailing `*` is a
plain prefix), `actor`, `target` (a target type, a target id, or `type:id`; also `targetType` and
`targetId`), a time range `from`/`to` (ISO 8601; `since`/`until` are older names for the same).
Bad times are 422 naming the parameter. Secrets in `before`/`after` are redacted when written and
again when read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get
from litestar.params import QueryParameter

from services.control.audit import scrub
from services.control.context import control_state
from services.control.errors import InvalidField
from shared.logs import redact_value

__all__ = ["audit_log"]

# $1 exact action, $2 prefix (with its '.', or without the '*'), $3 actor, $4 target type, $5 target
# id, $6 type-or-id, $7 from, $8 to. Values only travel as parameters; starts_with has no wildcards.
_PAGE = """SELECT * FROM audit_log
    WHERE ($1::text IS NULL OR action = $1 OR starts_with(action, $2::text))
      AND ($3::text IS NULL OR actor = $3)
      AND ($4::text IS NULL OR target_type = $4)
      AND ($5::text IS NULL OR target_id = $5)
      AND ($6::text IS NULL OR target_type = $6 OR target_id = $6)
      AND ($7::timestamptz IS NULL OR ts >= $7)
      AND ($8::timestamptz IS NULL OR ts < $8)
    ORDER BY ts DESC, id DESC LIMIT $9 OFFSET $10"""
_COUNT = """SELECT count(*) FROM audit_log
    WHERE ($1::text IS NULL OR action = $1 OR starts_with(action, $2::text))
      AND ($3::text IS NULL OR actor = $3)
      AND ($4::text IS NULL OR target_type = $4)
      AND ($5::text IS NULL OR target_id = $5)
      AND ($6::text IS NULL OR target_type = $6 OR target_id = $6)
      AND ($7::timestamptz IS NULL OR ts >= $7)
      AND ($8::timestamptz IS NULL OR ts < $8)"""

_TEXT = Annotated[str | None, QueryParameter(max_length=256)]


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
        before=redact_value(scrub(row["before"])),
        after=redact_value(scrub(row["after"])),
        request_id=row["request_id"],
        client_ip=row["client_ip"],
    )


def _instant(value: str | None, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidField(field, "must be an ISO 8601 date or date-time, e.g. 2026-01-31T12:00:00Z", 422) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _action_filter(action: str | None) -> tuple[str | None, str | None]:
    if not action:
        return None, None
    if action.endswith("*"):
        return action, action[:-1]
    return action, action + "."


def _target_filter(
    target: str | None, target_type: str | None, target_id: str | None
) -> tuple[str | None, str | None, str | None]:
    """(type, id, type-or-id): `type:id` splits; a lone `target` matches a type or an id."""
    if target and ":" in target:
        kind, _, ident = target.partition(":")
        return target_type or kind or None, target_id or ident or None, None
    return target_type, target_id, target or None


@get("/api/compliance/audit-log", tags=["compliance"])
async def audit_log(
    request: Request[Any, Any, Any],
    action: _TEXT = None,
    actor: _TEXT = None,
    target: _TEXT = None,
    target_type: Annotated[str | None, QueryParameter(name="targetType", max_length=256)] = None,
    target_id: Annotated[str | None, QueryParameter(name="targetId", max_length=256)] = None,
    from_: Annotated[str | None, QueryParameter(name="from", max_length=64, description="ISO 8601, inclusive")] = None,
    to: Annotated[str | None, QueryParameter(max_length=64, description="ISO 8601, exclusive")] = None,
    since: Annotated[str | None, QueryParameter(max_length=64, description="older name of `from`")] = None,
    until: Annotated[str | None, QueryParameter(max_length=64, description="older name of `to`")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0,
) -> Response[list[AuditEntry]]:
    """Newest first; totals in `x-total-count`. Bad `from`/`to` are 422 naming the parameter."""
    start = _instant(from_, "from") if from_ is not None else _instant(since, "since")
    end = _instant(to, "to") if to is not None else _instant(until, "until")
    if start is not None and end is not None and start > end:
        raise InvalidField("from", "must not be after `to`", 422)
    exact, prefix = _action_filter(action)
    args = (exact, prefix, actor, *_target_filter(target, target_type, target_id), start, end)
    pool = control_state(request).pool
    rows = await pool.fetch(_PAGE, *args, limit, offset)
    total = await pool.fetchval(_COUNT, *args)
    headers = {"x-total-count": str(total), "x-page-limit": str(limit), "x-page-offset": str(offset)}
    return Response([_entry(r) for r in rows], headers=headers)
