"""/api/models/catalog: every model by provider (catalog, connections' own models, provider nodes, custom
models from /api/provider-models) and the combos. Hidden models are left out, as on /v1/models."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, get

from services.control.context import control_state
from shared.providers.catalog import PROVIDERS

__all__ = ["models_catalog"]

_NODE_DIALECTS = {"openai-compatible": "openai_chat", "anthropic-compatible": "anthropic"}


class CatalogModel(msgspec.Struct, kw_only=True):
    id: str  # provider/model, as clients address it
    model: str  # the id the provider knows it by
    type: str


class CatalogProvider(msgspec.Struct, kw_only=True):
    id: str
    name: str
    dialect: str
    configured: bool  # an active connection exists, or it is an active provider node
    models: list[CatalogModel]


class Catalog(msgspec.Struct, kw_only=True):
    providers: list[CatalogProvider]
    combos: list[str]


@dataclass(frozen=True, slots=True)
class _Custom:
    added: dict[str, dict[str, str]]  # provider -> model -> kind
    hidden: set[tuple[str, str]]


def _models(provider: str, custom: _Custom, *groups: Iterable[str]) -> list[CatalogModel]:
    seen: dict[str, str] = {}
    for group in groups:
        for model in group:
            seen.setdefault(model, "chat")
    for model, kind in custom.added.get(provider, {}).items():
        seen[model] = kind
    return [
        CatalogModel(id=f"{provider}/{model}", model=model, type=kind)
        for model, kind in seen.items()
        if (provider, model) not in custom.hidden
    ]


@get("/api/models/catalog", tags=["models"])
async def models_catalog(request: Request[Any, Any, Any]) -> Catalog:
    """Catalog providers in catalog order, then provider nodes by prefix; models listed once each."""
    pool = control_state(request).pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        connections = await conn.fetch(
            "SELECT provider, models, default_model FROM provider_connections WHERE is_active ORDER BY priority, name"
        )
        nodes = await conn.fetch("SELECT prefix, name, type, models, is_active FROM provider_nodes ORDER BY prefix")
        combos = await conn.fetch("SELECT name FROM combos ORDER BY name")
        rows = await conn.fetch("SELECT provider, model, kind, hidden FROM provider_models ORDER BY provider, model")
    custom = _Custom(added={}, hidden=set())
    for row in rows:
        custom.added.setdefault(row["provider"], {})[row["model"]] = row["kind"]
        if row["hidden"]:
            custom.hidden.add((row["provider"], row["model"]))
    extra: dict[str, list[str]] = {}
    for row in connections:
        own = extra.setdefault(row["provider"], [])
        own.extend(sorted(row["models"]))
        if row["default_model"]:
            own.append(row["default_model"])
    providers = [
        CatalogProvider(
            id=spec.id,
            name=spec.name,
            dialect=spec.dialect,
            configured=spec.id in extra,
            models=_models(spec.id, custom, spec.models, extra.get(spec.id, ())),
        )
        for spec in PROVIDERS.values()
    ]
    providers.extend(
        CatalogProvider(
            id=row["prefix"],
            name=row["name"],
            dialect=_NODE_DIALECTS.get(row["type"], "openai_chat"),
            configured=row["is_active"],
            models=_models(row["prefix"], custom, row["models"]),
        )
        for row in nodes
    )
    return Catalog(providers=providers, combos=[row["name"] for row in combos])
