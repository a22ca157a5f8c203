"""/api/provider-models: custom models per provider or provider node; hide, show, describe, delete.

A row either adds a model the catalog does not list (`custom: true`) or hides / describes one it
does (`custom: false`; created by a PATCH naming a catalog model). Hiding is listing-only: a hidden
model leaves `/v1/models` and `/api/models/catalog` but is still served when a client names it.
Every write bumps the config version and publishes a snapshot; the edges learn of the models from
it (shared/config/catalog_overrides.py).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, QueryParameter
from msgspec import UNSET, structs

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.db.types import Conn
from services.control.errors import ApiError, InvalidField, NotFoundError
from services.control.params import parse_uuid
from services.control.resources.deleted import Deleted
from services.control.resources.provider_models import queries
from services.control.resources.provider_models.schemas import (
    CAPABILITIES,
    ProviderModelCreate,
    ProviderModelList,
    ProviderModelUpdate,
    ProviderModelView,
)
from shared.ids import new_id
from shared.providers.catalog import find_provider

__all__ = ["ProviderModelsController", "catalog_models_of", "check_model_id"]


def check_model_id(field: str, model: str) -> None:
    if any(ch.isspace() or not ch.isprintable() for ch in model):
        raise InvalidField(field, "must not contain whitespace or control characters")


async def catalog_models_of(conn: Conn, provider: str) -> tuple[str, tuple[str, ...]]:
    """(canonical provider id, the models its catalog entry or provider node lists); 400 when unknown."""
    spec = find_provider(provider)
    if spec is not None:
        return spec.id, spec.models
    nodes = await queries.node_models(conn)
    lowered = provider.lower()
    if lowered in nodes:
        return lowered, nodes[lowered]
    raise InvalidField(
        "provider", f"unknown provider {provider[:64]!r}: not a catalog provider or provider node prefix"
    )


async def _stored_catalog(conn: Conn, provider: str) -> tuple[str, ...]:
    """The catalog of a stored row's provider (empty for a node deleted since)."""
    spec = find_provider(provider)
    return spec.models if spec is not None else (await queries.node_models(conn)).get(provider, ())


def _check_fields(values: dict[str, Any]) -> None:
    if values.get("display_name") is not None:
        values["display_name"] = values["display_name"].strip()
        if not values["display_name"] or not values["display_name"].isprintable():
            raise InvalidField("displayName", "must be printable text, not blank")
    for name in values.get("capabilities") or {}:
        if name not in CAPABILITIES:
            raise InvalidField(f"capabilities.{name[:64]}", f"unknown capability; known: {', '.join(CAPABILITIES)}")


def _view(row: asyncpg.Record, catalog: Collection[str]) -> ProviderModelView:
    return ProviderModelView(
        id=str(row["id"]),
        provider=row["provider"],
        model=row["model"],
        display_name=row["display_name"],
        kind=row["kind"],
        hidden=row["hidden"],
        custom=row["model"] not in catalog,
        context_window=row["context_window"],
        max_output_tokens=row["max_output_tokens"],
        capabilities=dict(row["capabilities"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _values(row: asyncpg.Record | None) -> dict[str, Any]:
    if row is None:
        return {
            "display_name": None,
            "kind": "chat",
            "hidden": False,
            "context_window": None,
            "max_output_tokens": None,
            "capabilities": {},
        }
    return {column: row[column] for column in queries.COLUMNS}


async def _target(conn: Conn, change: ProviderModelUpdate) -> tuple[asyncpg.Record | None, str, str, tuple[str, ...]]:
    """The row a PATCH names (None: a catalog model without one yet), its provider, model and catalog."""
    if change.id is not UNSET:
        if change.provider is not UNSET or change.model is not UNSET:
            raise InvalidField("id", "give either id, or provider and model, not both")
        row = await queries.fetch(conn, parse_uuid(change.id, "provider model"), for_update=True)
        if row is None:
            raise NotFoundError("provider model")
        return row, row["provider"], row["model"], await _stored_catalog(conn, row["provider"])
    if change.provider is UNSET:
        raise InvalidField("provider", "is required (or give id)")
    if change.model is UNSET:
        raise InvalidField("model", "is required (or give id)")
    provider, catalog = await catalog_models_of(conn, change.provider)
    row = await queries.fetch_by_name(conn, provider, change.model)
    if row is None and change.model not in catalog:
        raise NotFoundError("provider model")
    return row, provider, change.model, catalog


class ProviderModelsController(Controller):
    path = "/api/provider-models"
    tags = ["models"]

    @get("/")
    async def list_provider_models(
        self,
        request: Request[Any, Any, Any],
        provider: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> ProviderModelList:
        """Stored rows (custom models, and catalog models hidden or described), by provider then model."""
        state = control_state(request)
        if provider is not None:
            spec = find_provider(provider)
            provider = spec.id if spec is not None else provider.lower()
        async with state.pool.acquire() as conn:
            rows, total = await queries.fetch_page(conn, provider, limit, offset)
            nodes = await queries.node_models(conn)
        views = []
        for row in rows:
            spec = find_provider(row["provider"])
            views.append(_view(row, spec.models if spec is not None else nodes.get(row["provider"], ())))
        return ProviderModelList(models=views, total=total)

    @post("/", status_code=201)
    async def create_provider_model(
        self, request: Request[Any, Any, Any], data: JSONBody[ProviderModelCreate]
    ) -> ProviderModelView:
        """Add a model to a provider (catalog id or alias) or a provider node (its prefix)."""
        state = control_state(request)
        check_model_id("model", data.model)
        values = {column: getattr(data, column) for column in queries.COLUMNS}
        _check_fields(values)
        ident = new_id()
        try:
            async with state.writer.transaction() as conn:
                provider, catalog = await catalog_models_of(conn, data.provider)
                if data.model in catalog:
                    raise ApiError(
                        409,
                        f"model: {data.model[:256]!r} is already a {provider} model; PATCH it to hide or describe it",
                        "conflict",
                        [{"field": "model", "message": "is already listed by the provider"}],
                    )
                row = await queries.insert(conn, ident, provider, data.model, values)
                view = _view(row, catalog)
                await audit.record(
                    conn,
                    actor_of(request),
                    "provider_model.created",
                    "provider_model",
                    ident,
                    None,
                    msgspec.to_builtins(view),
                )
        except asyncpg.UniqueViolationError:
            raise ApiError(
                409, "model: already added to this provider", "conflict", [{"field": "model", "message": "exists"}]
            ) from None
        return view

    @patch("/")
    async def update_provider_model(
        self, request: Request[Any, Any, Any], data: JSONBody[ProviderModelUpdate]
    ) -> ProviderModelView:
        """Change the fields present (e.g. `hidden`); a catalog model gets its row on first change."""
        state = control_state(request)
        changes = {
            name: value
            for name, value in structs.asdict(data).items()
            if value is not UNSET and name not in ("id", "provider", "model")
        }
        if not changes:
            raise InvalidField("body", "nothing to change: give hidden, displayName, kind, contextWindow, ...")
        async with state.writer.transaction() as conn:
            row, provider, model, catalog = await _target(conn, data)
            values = {**_values(row), **changes}
            if values["capabilities"] is None:
                values["capabilities"] = {}
            _check_fields(values)
            if row is None:
                ident = new_id()
                before = None
                updated = await queries.insert(conn, ident, provider, model, values)
            else:
                ident = str(row["id"])
                before = msgspec.to_builtins(_view(row, catalog))
                updated = await queries.update(conn, ident, values)
            view = _view(updated, catalog)
            await audit.record(
                conn,
                actor_of(request),
                "provider_model.updated",
                "provider_model",
                ident,
                before,
                msgspec.to_builtins(view),
            )
        return view

    @delete("/", status_code=200)
    async def delete_provider_model(
        self,
        request: Request[Any, Any, Any],
        id: FromQuery[str | None] = None,
        provider: Annotated[str | None, QueryParameter(max_length=64)] = None,
        model: Annotated[str | None, QueryParameter(max_length=256)] = None,
    ) -> Deleted:
        """Delete by `?id=` or `?provider=&model=`; for a catalog model this shows it again."""
        state = control_state(request)
        async with state.writer.transaction() as conn:
            if id is not None:
                row = await queries.fetch(conn, parse_uuid(id, "provider model"), for_update=True)
            elif provider is None or model is None:
                raise InvalidField("provider" if provider is None else "model", "is required (or give id)")
            else:
                canonical, _ = await catalog_models_of(conn, provider)
                row = await queries.fetch_by_name(conn, canonical, model)
            if row is None:
                raise NotFoundError("provider model")
            ident = str(row["id"])
            await queries.delete(conn, ident)
            before = _view(row, await _stored_catalog(conn, row["provider"]))
            await audit.record(
                conn,
                actor_of(request),
                "provider_model.deleted",
                "provider_model",
                ident,
                msgspec.to_builtins(before),
            )
        return Deleted(id=ident, deleted=True)
