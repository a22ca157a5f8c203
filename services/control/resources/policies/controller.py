"""/api/policies: routing policies (conditions -> actions), evaluated at the edge from the snapshot."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, structs

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import ApiError, NotFoundError
from services.control.params import parse_uuid
from services.control.resources.deleted import Deleted
from services.control.resources.policies import queries
from services.control.resources.policies.schemas import PolicyCreate, PolicyList, PolicyUpdate, PolicyView
from services.control.resources.policies.validation import validate
from shared.ids import new_id

__all__ = ["PoliciesController"]


def _view(row: asyncpg.Record) -> PolicyView:
    return PolicyView(
        id=str(row["id"]),
        name=row["name"],
        priority=row["priority"],
        enabled=row["enabled"],
        models=list(row["models"]),
        key_ids=[str(key) for key in row["key_ids"]],
        days=list(row["days"]),
        hour_from=row["hour_from"],
        hour_to=row["hour_to"],
        effect=row["effect"],
        prefer_providers=list(row["prefer_providers"]),
        max_tokens=row["max_tokens"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _duplicate(name: str) -> ApiError:
    return ApiError(
        409, f"a policy named {name!r} already exists", "conflict", [{"field": "name", "message": "already exists"}]
    )


class PoliciesController(Controller):
    path = "/api/policies"
    tags = ["policies"]

    @get("/")
    async def list_policies(self, request: Request[Any, Any, Any]) -> PolicyList:
        """All policies in evaluation order (priority, lowest first)."""
        rows = await queries.fetch_all(control_state(request).pool)
        return PolicyList(policies=[_view(row) for row in rows], total=len(rows))

    @post("/", status_code=201)
    async def create_policy(self, request: Request[Any, Any, Any], data: JSONBody[PolicyCreate]) -> PolicyView:
        state = control_state(request)
        ident = new_id()
        values = structs.asdict(data)
        try:
            async with state.writer.transaction() as conn:
                row = await queries.insert(conn, ident, await validate(conn, values))
                view = _view(row)
                await audit.record(
                    conn, actor_of(request), "policy.created", "policy", ident, None, msgspec.to_builtins(view)
                )
        except asyncpg.UniqueViolationError:
            raise _duplicate(values["name"]) from None
        return view

    @get("/{policy_id:str}")
    async def get_policy(self, request: Request[Any, Any, Any], policy_id: FromPath[str]) -> PolicyView:
        row = await queries.fetch(control_state(request).pool, parse_uuid(policy_id, "policy"))
        if row is None:
            raise NotFoundError("policy")
        return _view(row)

    @put("/{policy_id:str}")
    async def update_policy(
        self, request: Request[Any, Any, Any], policy_id: FromPath[str], data: JSONBody[PolicyUpdate]
    ) -> PolicyView:
        """Change the fields present in the body."""
        state = control_state(request)
        ident = parse_uuid(policy_id, "policy")
        values: dict[str, Any] = {}
        try:
            async with state.writer.transaction() as conn:
                row = await queries.fetch(conn, ident, for_update=True)
                if row is None:
                    raise NotFoundError("policy")
                values = {column: row[column] for column in queries.COLUMNS}
                values.update({k: v for k, v in structs.asdict(data).items() if v is not UNSET})
                updated = await queries.update(conn, ident, await validate(conn, values))
                view = _view(updated)
                await audit.record(
                    conn,
                    actor_of(request),
                    "policy.updated",
                    "policy",
                    ident,
                    msgspec.to_builtins(_view(row)),
                    msgspec.to_builtins(view),
                )
        except asyncpg.UniqueViolationError:
            raise _duplicate(values.get("name", "")) from None
        return view

    @delete("/{policy_id:str}", status_code=200)
    async def delete_policy(self, request: Request[Any, Any, Any], policy_id: FromPath[str]) -> Deleted:
        state = control_state(request)
        ident = parse_uuid(policy_id, "policy")
        async with state.writer.transaction() as conn:
            row = await queries.fetch(conn, ident, for_update=True)
            if row is None:
                raise NotFoundError("policy")
            await queries.delete(conn, ident)
            await audit.record(
                conn, actor_of(request), "policy.deleted", "policy", ident, msgspec.to_builtins(_view(row))
            )
        return Deleted(id=ident, deleted=True)
