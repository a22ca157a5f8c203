"""/api/combos: named target lists with a strategy; steps resolve, references stay acyclic and shallow."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from msgspec import UNSET

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import ApiError, NotFoundError
from services.control.params import parse_uuid
from services.control.resources.combos import queries
from services.control.resources.combos.schemas import ComboCreate, ComboList, ComboUpdate, ComboView
from services.control.resources.combos.validation import check_graph, normalise_steps
from services.control.resources.deleted import Deleted
from services.control.resources.names import Names, check_name, combo_refs, load_names, taken
from shared.ids import new_id

__all__ = ["CombosController"]


def _view(row: asyncpg.Record) -> ComboView:
    return ComboView(
        id=str(row["id"]),
        name=row["name"],
        strategy=row["strategy"],
        models=list(row["steps"] or []),
        is_active=row["is_active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _check_new_name(name: str, names: Names) -> None:
    check_name("name", name, names)
    if name in names.aliases:
        raise taken("name", "an alias", name)
    if name in names.combos:
        raise _duplicate(name)


def _duplicate(name: str) -> ApiError:
    return ApiError(
        409, f"a combo named {name!r} already exists", "conflict", [{"field": "name", "message": "already exists"}]
    )


def _referrers(names: Names, name: str) -> list[str]:
    combos = [f"combo {combo!r}" for combo in names.combo_referrers(name) if combo != name]
    return combos + [f"alias {alias!r}" for alias in names.alias_referrers(name)]


def _in_use(name: str, referrers: list[str], doing: str) -> ApiError:
    return ApiError(
        409,
        f"cannot {doing} combo {name!r}: it is referenced by {', '.join(referrers)}",
        "conflict",
        [{"field": "name", "message": f"referenced by {', '.join(referrers)}"}],
    )


class CombosController(Controller):
    path = "/api/combos"
    tags = ["combos"]

    @get("/")
    async def list_combos(self, request: Request[Any, Any, Any]) -> ComboList:
        rows = await queries.fetch_all(control_state(request).pool)
        return ComboList(combos=[_view(row) for row in rows], total=len(rows))

    @post("/", status_code=201)
    async def create_combo(self, request: Request[Any, Any, Any], data: JSONBody[ComboCreate]) -> ComboView:
        """Create a combo; steps are stored normalised (`{"model": "provider/model"}` or `{"combo": name}`)."""
        state = control_state(request)
        ident = new_id()
        try:
            async with state.writer.transaction() as conn:
                names = await load_names(conn)
                _check_new_name(data.name, names)
                names.combos[data.name] = []  # so a self-reference is reported as the cycle it is
                steps = await normalise_steps(conn, data.models, names)
                names.combos[data.name] = combo_refs(steps)
                check_graph(names.combos, data.name)
                row = await queries.insert(conn, ident, data.name, data.strategy, steps, data.is_active)
                view = _view(row)
                await audit.record(
                    conn, actor_of(request), "combo.created", "combo", ident, None, msgspec.to_builtins(view)
                )
        except asyncpg.UniqueViolationError:
            raise _duplicate(data.name) from None
        return view

    @get("/{combo_id:str}")
    async def get_combo(self, request: Request[Any, Any, Any], combo_id: FromPath[str]) -> ComboView:
        row = await queries.fetch(control_state(request).pool, parse_uuid(combo_id, "combo"))
        if row is None:
            raise NotFoundError("combo")
        return _view(row)

    @put("/{combo_id:str}")
    async def update_combo(
        self, request: Request[Any, Any, Any], combo_id: FromPath[str], data: JSONBody[ComboUpdate]
    ) -> ComboView:
        """Change the fields present; a combo that others reference keeps its name (409)."""
        state = control_state(request)
        ident = parse_uuid(combo_id, "combo")
        wanted = None if data.name is UNSET else data.name
        try:
            async with state.writer.transaction() as conn:
                row = await queries.fetch(conn, ident, for_update=True)
                if row is None:
                    raise NotFoundError("combo")
                names = await load_names(conn)
                old_name: str = row["name"]
                name = wanted or old_name
                refs = names.combos.pop(old_name, [])
                if name != old_name:
                    referrers = _referrers(names, old_name)
                    if referrers:
                        raise _in_use(old_name, referrers, "rename")
                    _check_new_name(name, names)
                names.combos[name] = refs
                steps: list[Any] = list(row["steps"] or [])
                if data.models is not UNSET:
                    steps = await normalise_steps(conn, data.models, names)
                names.combos[name] = combo_refs(steps)
                check_graph(names.combos, name)
                strategy = row["strategy"] if data.strategy is UNSET else data.strategy
                is_active = row["is_active"] if data.is_active is UNSET else data.is_active
                updated = await queries.update(conn, ident, name, strategy, steps, is_active)
                view = _view(updated)
                await audit.record(
                    conn,
                    actor_of(request),
                    "combo.updated",
                    "combo",
                    ident,
                    msgspec.to_builtins(_view(row)),
                    msgspec.to_builtins(view),
                )
        except asyncpg.UniqueViolationError:
            raise _duplicate(wanted or "") from None
        return view

    @delete("/{combo_id:str}", status_code=200)
    async def delete_combo(self, request: Request[Any, Any, Any], combo_id: FromPath[str]) -> Deleted:
        """Delete; refused (409, naming them) while another combo or an alias references it."""
        state = control_state(request)
        ident = parse_uuid(combo_id, "combo")
        async with state.writer.transaction() as conn:
            row = await queries.fetch(conn, ident, for_update=True)
            if row is None:
                raise NotFoundError("combo")
            referrers = _referrers(await load_names(conn), row["name"])
            if referrers:
                raise _in_use(row["name"], referrers, "delete")
            await queries.delete(conn, ident)
            await audit.record(
                conn, actor_of(request), "combo.deleted", "combo", ident, msgspec.to_builtins(_view(row))
            )
        return Deleted(id=ident, deleted=True)
