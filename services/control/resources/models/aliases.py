"""/api/models/alias: user aliases for model strings (`fast` -> `openai/gpt-4o-mini`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromQuery, JSONBody
from msgspec import UNSET, Meta, UnsetType

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.db.types import Conn
from services.control.errors import ApiError, InvalidField, NotFoundError
from services.control.resources.deleted import Deleted
from services.control.resources.names import (
    MAX_ALIAS_CHAIN,
    Names,
    check_name,
    check_printable,
    load_names,
    taken,
)

__all__ = ["AliasesController"]

AliasName = Annotated[str, Meta(min_length=1, max_length=256)]
Target = Annotated[str, Meta(min_length=1, max_length=512)]

_UNRESOLVED = (
    "does not resolve: expected provider/model with a known provider (catalog id or alias, or a provider "
    "node's prefix), the name of a combo or of another alias, or a model some provider lists"
)


class AliasWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Either one alias (`alias` and `model`) or several (`aliases`: {alias: model})."""

    alias: AliasName | UnsetType = UNSET
    model: Target | UnsetType = UNSET
    aliases: Annotated[dict[AliasName, Target], Meta(min_length=1, max_length=1000)] | UnsetType = UNSET


class AliasView(msgspec.Struct, kw_only=True):
    alias: str
    model: str


class AliasMap(msgspec.Struct, kw_only=True):
    aliases: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Change:
    alias: str
    model: str
    name_field: str
    model_field: str


def _changes(data: AliasWrite) -> list[_Change]:
    single = data.alias is not UNSET or data.model is not UNSET
    if data.aliases is not UNSET:
        if single:
            raise InvalidField("aliases", "give either `alias` and `model`, or `aliases`, not both")
        return [_Change(a, m, f"aliases.{a[:64]}", f"aliases.{a[:64]}") for a, m in data.aliases.items()]
    if data.alias is UNSET:
        raise InvalidField("alias", "is required")
    if data.model is UNSET:
        raise InvalidField("model", "is required")
    return [_Change(data.alias, data.model, "alias", "model")]


def _check_chains(aliases: dict[str, str], changed: dict[str, str]) -> None:
    """No alias cycles, and no chain of more than MAX_ALIAS_CHAIN aliases (what the edge follows)."""
    for start in [*changed, *sorted(a for a in aliases if a not in changed)]:
        chain = [start]
        target = aliases[start]
        while target in aliases:
            problem = None
            if target in chain:
                problem = f"forms an alias cycle: {' -> '.join([*chain, target])}"
            elif len(chain) == MAX_ALIAS_CHAIN:
                problem = f"makes an alias chain longer than {MAX_ALIAS_CHAIN}: {' -> '.join([*chain, target])}"
            if problem is not None:
                field = next((changed[a] for a in chain if a in changed), "aliases")
                raise InvalidField(field, problem)
            chain.append(target)
            target = aliases[target]


def _validate(changes: list[_Change], names: Names) -> None:
    for change in changes:
        check_name(change.name_field, change.alias, names)
        check_printable(change.model_field, change.model)
        if change.alias in names.combos:
            raise taken(change.name_field, "a combo", change.alias)
    for change in changes:
        names.aliases[change.alias] = change.model
    for change in changes:
        if not names.resolves(change.model):
            raise InvalidField(change.model_field, _UNRESOLVED)
    _check_chains(names.aliases, {change.alias: change.model_field for change in changes})


async def _upsert(conn: Conn, alias: str, model: str) -> None:
    await conn.execute(
        """INSERT INTO model_aliases (alias, model) VALUES ($1, $2)
           ON CONFLICT (alias) DO UPDATE SET model = EXCLUDED.model, updated_at = now()""",
        alias,
        model,
    )


async def _write(request: Request[Any, Any, Any], data: AliasWrite) -> AliasView | AliasMap:
    changes = _changes(data)
    state = control_state(request)
    async with state.writer.transaction() as conn:
        names = await load_names(conn)
        before = dict(names.aliases)
        _validate(changes, names)
        for change in changes:
            await _upsert(conn, change.alias, change.model)
            previous = before.get(change.alias)
            await audit.record(
                conn,
                actor_of(request),
                "alias.updated" if previous is not None else "alias.created",
                "model_alias",
                change.alias,
                None if previous is None else {"alias": change.alias, "model": previous},
                {"alias": change.alias, "model": change.model},
            )
    if data.aliases is UNSET:
        return AliasView(alias=changes[0].alias, model=changes[0].model)
    return AliasMap(aliases={change.alias: change.model for change in changes})


class AliasesController(Controller):
    path = "/api/models/alias"
    tags = ["models"]

    @get("/")
    async def get_aliases(
        self, request: Request[Any, Any, Any], alias: FromQuery[str | None] = None
    ) -> AliasMap | AliasView:
        """All aliases, or the one named by `?alias=`."""
        pool = control_state(request).pool
        if alias is None:
            rows = await pool.fetch("SELECT alias, model FROM model_aliases ORDER BY alias")
            return AliasMap(aliases={row["alias"]: row["model"] for row in rows})
        model = await pool.fetchval("SELECT model FROM model_aliases WHERE alias = $1", alias)
        if model is None:
            raise NotFoundError("alias")
        return AliasView(alias=alias, model=model)

    @post("/", status_code=201)
    async def create_aliases(self, request: Request[Any, Any, Any], data: JSONBody[AliasWrite]) -> AliasView | AliasMap:
        """Create or replace one alias (`alias`, `model`) or several (`aliases`)."""
        return await _write(request, data)

    @put("/")
    async def put_aliases(self, request: Request[Any, Any, Any], data: JSONBody[AliasWrite]) -> AliasView | AliasMap:
        """Create or replace one alias (`alias`, `model`) or several (`aliases`)."""
        return await _write(request, data)

    @delete("/", status_code=200)
    async def delete_alias(self, request: Request[Any, Any, Any], alias: FromQuery[str | None] = None) -> Deleted:
        """Delete `?alias=`; refused (409) while another alias needs it to resolve."""
        if alias is None:
            raise InvalidField("alias", "the query parameter is required")
        state = control_state(request)
        async with state.writer.transaction() as conn:
            names = await load_names(conn)
            model = names.aliases.pop(alias, None)
            if model is None:
                raise NotFoundError("alias")
            referrers = names.alias_referrers(alias)
            if referrers and not names.resolves(alias):
                raise ApiError(
                    409,
                    f"alias {alias!r} is the target of the aliases {', '.join(map(repr, referrers))}",
                    "conflict",
                    [{"field": "alias", "message": f"used by aliases: {', '.join(referrers)}"}],
                )
            await conn.execute("DELETE FROM model_aliases WHERE alias = $1", alias)
            await audit.record(
                conn, actor_of(request), "alias.deleted", "model_alias", alias, {"alias": alias, "model": model}
            )
        return Deleted(id=alias, deleted=True)
