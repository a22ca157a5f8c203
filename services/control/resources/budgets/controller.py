"""/api/usage/budget: per-API-key USD budgets (limit per UTC day, ISO week or month) and their status.

Limits live in Postgres (`api_key_budgets`) and reach every edge in the snapshot
(shared/config/budgets.py); the edge reserves and settles against them in Redis
(shared/kv/budget.py), which is where the status's spent and reserved amounts come from.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, QueryParameter
from redis.exceptions import RedisError

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import InvalidField, NotFoundError
from services.control.params import parse_uuid
from services.control.resources.budgets import queries
from services.control.resources.deleted import Deleted
from shared.budget_period import PERIODS
from shared.kv.batch import RedisBatch, Slot
from shared.kv.budget import Budgets, BudgetView

__all__ = ["BudgetController"]

_MAX_LIMIT_USD = 1_000_000_000.0


class BudgetChange(msgspec.Struct, kw_only=True, rename="camel"):
    key_id: str
    limit: float | None  # US dollars; null removes the budget
    period: str = "monthly"


class BudgetStatus(msgspec.Struct, kw_only=True, rename="camel"):
    key_id: str
    key_name: str
    period: str
    limit: float  # US dollars
    limit_micros: int
    spent_micros: int | None  # None while Redis cannot be read
    reserved_micros: int | None
    remaining_micros: int | None
    spent: float | None
    reserved: float | None
    remaining: float | None
    period_start: datetime | None
    period_end: datetime | None


class BudgetList(msgspec.Struct, kw_only=True):
    budgets: list[BudgetStatus]


class BudgetChanged(msgspec.Struct, kw_only=True, rename="camel"):
    key_id: str
    removed: bool
    budget: BudgetStatus | None


def _usd(micros: int | None) -> float | None:
    return None if micros is None else micros / 1_000_000


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _status(row: asyncpg.Record, view: BudgetView | None) -> BudgetStatus:
    limit = int(row["limit_micros"])
    spent = view.spent if view is not None else None
    reserved = view.reserved if view is not None else None
    remaining = max(limit - spent - reserved, 0) if spent is not None and reserved is not None else None
    return BudgetStatus(
        key_id=str(row["api_key_id"]),
        key_name=row["name"],
        period=row["period"],
        limit=limit / 1_000_000,
        limit_micros=limit,
        spent_micros=spent,
        reserved_micros=reserved,
        remaining_micros=remaining,
        spent=_usd(spent),
        reserved=_usd(reserved),
        remaining=_usd(remaining),
        period_start=_moment(view.start_ms if view is not None else None),
        period_end=_moment(view.end_ms if view is not None else None),
    )


async def _statuses(request: Request[Any, Any, Any], rows: list[asyncpg.Record]) -> list[BudgetStatus]:
    """Every row's Redis counters in one round trip; without Redis the amounts are null."""
    if not rows:
        return []
    redis = control_state(request).redis
    budgets = Budgets(redis)
    batch = RedisBatch(redis)
    slots: list[Slot[BudgetView]] = [budgets.status(batch, str(row["api_key_id"]), row["period"]) for row in rows]
    try:
        await batch.run()
    except (RedisError, OSError):
        return [_status(row, None) for row in rows]
    return [_status(row, slot.value) for row, slot in zip(rows, slots, strict=True)]


def _limit_micros(limit: float) -> int:
    if not math.isfinite(limit) or limit <= 0 or limit > _MAX_LIMIT_USD:
        raise InvalidField("limit", f"must be a number of US dollars above 0 and at most {_MAX_LIMIT_USD:.0f}", 422)
    micros = round(limit * 1_000_000)
    if micros < 1:
        raise InvalidField("limit", "must be at least 0.000001 (one micro-dollar)", 422)
    return micros


async def _remove(request: Request[Any, Any, Any], key_id: str) -> None:
    state = control_state(request)
    async with state.writer.transaction() as conn:
        current = await queries.fetch(conn, key_id)
        if current is None:
            raise NotFoundError(f"budget for API key {key_id!r}")
        await queries.delete(conn, key_id)
        before = {"limitMicros": int(current["limit_micros"]), "period": current["period"]}
        await audit.record(conn, actor_of(request), "budget.deleted", "api_key_budgets", key_id, before, None)


class BudgetController(Controller):
    path = "/api/usage/budget"
    tags = ["usage"]

    @get("/")
    async def list_budgets(self, request: Request[Any, Any, Any]) -> BudgetList:
        """Every key that has a budget: limit, period, spent, reserved, remaining, the period's bounds."""
        rows = await queries.all_budgets(control_state(request).pool)
        return BudgetList(budgets=await _statuses(request, rows))

    @post("/", status_code=200)
    async def set_budget(self, request: Request[Any, Any, Any], data: JSONBody[BudgetChange]) -> BudgetChanged:
        """Set a key's budget (`limit` in US dollars per `period`), or remove it with `limit: null`."""
        key_id = parse_uuid(data.key_id, "API key")
        if data.limit is None:
            await _remove(request, key_id)
            return BudgetChanged(key_id=key_id, removed=True, budget=None)
        if data.period not in PERIODS:
            raise InvalidField("period", f"must be one of {', '.join(PERIODS)}", 422)
        micros = _limit_micros(data.limit)
        state = control_state(request)
        async with state.writer.transaction() as conn:
            if not await queries.key_exists(conn, key_id):
                raise NotFoundError("API key")
            current = await queries.fetch(conn, key_id)
            before = {"limitMicros": int(current["limit_micros"]), "period": current["period"]} if current else None
            await queries.upsert(conn, key_id, micros, data.period)
            after = {"limitMicros": micros, "period": data.period}
            await audit.record(conn, actor_of(request), "budget.updated", "api_key_budgets", key_id, before, after)
            row = await queries.fetch(conn, key_id)
        assert row is not None
        return BudgetChanged(key_id=key_id, removed=False, budget=(await _statuses(request, [row]))[0])

    @delete("/", status_code=200)
    async def delete_budget(
        self,
        request: Request[Any, Any, Any],
        key_id: Annotated[str, QueryParameter(name="keyId", min_length=1, max_length=64)],
    ) -> Deleted:
        """Remove a key's budget (`?keyId=`): its requests are no longer limited by cost."""
        ident = parse_uuid(key_id, "budget")
        await _remove(request, ident)
        return Deleted(id=ident, deleted=True)
