"""/api/pricing: the effective price table (catalog defaults merged with overrides) and its overrides.

Overrides live in Postgres (`pricing`) and reach every edge in the snapshot
(shared/config/catalog_overrides.py), where they take precedence over the catalog's prices for the
`X-OmniRoute-Response-Cost` header, usage events and the cost-optimized strategy.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch
from litestar.params import JSONBody, QueryParameter
from msgspec import UNSET

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.db.types import Conn
from services.control.errors import InvalidField, NotFoundError
from services.control.resources.deleted import Deleted
from services.control.resources.pricing import queries
from services.control.resources.pricing.schemas import PriceChange, PriceRow, PriceTable, PricingPatch
from services.control.resources.provider_models.controller import catalog_models_of, check_model_id
from shared.config.catalog_overrides import PriceEntry
from shared.providers.catalog import PROVIDERS, find_provider
from shared.providers.spec import Price

__all__ = ["PricingController"]


def _row(entry: PriceEntry | None, provider: str, model: str, price: Price | None) -> PriceRow | None:
    if entry is not None:
        return PriceRow(
            provider=provider,
            model=model,
            input=entry.input,
            output=entry.output,
            cached=entry.cached,
            reasoning=entry.reasoning,
            source="override",
        )
    if price is None:
        return None
    return PriceRow(
        provider=provider,
        model=model,
        input=price.input,
        output=price.output,
        cached=price.cached,
        reasoning=price.reasoning,
        source="catalog",
    )


def _catalog_price(provider: str, model: str) -> Price | None:
    spec = PROVIDERS.get(provider)
    return spec.prices.get(model) if spec is not None else None


def _merged(change: PriceChange, current: PriceEntry | None, provider: str, where: str) -> PriceEntry:
    """The override after this change: given fields, else the current override's, else the catalog's."""
    base = current or _catalog_price(provider, change.model)
    values: dict[str, float | None] = {}
    for name in ("input", "output", "cached", "reasoning"):
        given = getattr(change, name)
        if given is not UNSET:
            values[name] = given
        else:
            values[name] = getattr(base, name) if base is not None else None
    for name in ("input", "output"):
        if values[name] is None:
            raise InvalidField(f"{where}{name}", "is required: there is no current or catalog price to keep")
    return PriceEntry(
        provider=provider,
        model=change.model,
        input=float(values["input"] or 0.0),
        output=float(values["output"] or 0.0),
        cached=values["cached"],
        reasoning=values["reasoning"],
    )


async def _apply(conn: Conn, request: Request[Any, Any, Any], change: PriceChange, where: str) -> PriceRow | None:
    check_model_id(f"{where}model", change.model)
    try:
        provider, _ = await catalog_models_of(conn, change.provider)
    except InvalidField as exc:
        raise InvalidField(f"{where}provider", exc.details[0]["message"] if exc.details else "unknown") from None
    current = await queries.fetch(conn, provider, change.model)
    before = msgspec.to_builtins(current) if current is not None else None
    target = f"{provider}/{change.model}"
    removing = change.input is None and change.output is None
    if removing:
        if current is None:
            raise NotFoundError(f"pricing override for {target[:300]!r}")
        await queries.delete(conn, provider, change.model)
        await audit.record(conn, actor_of(request), "pricing.deleted", "pricing", target, before, None)
        return _row(None, provider, change.model, _catalog_price(provider, change.model))
    for name in ("input", "output"):
        if getattr(change, name) is None:
            raise InvalidField(f"{where}{name}", "must be a number (send input and output null to remove)")
    entry = _merged(change, current, provider, where)
    await queries.upsert(conn, entry)
    await audit.record(
        conn, actor_of(request), "pricing.updated", "pricing", target, before, msgspec.to_builtins(entry)
    )
    return _row(entry, provider, change.model, None)


class PricingController(Controller):
    path = "/api/pricing"
    tags = ["pricing"]

    @get("/")
    async def get_pricing(
        self,
        request: Request[Any, Any, Any],
        provider: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> PriceTable:
        """Every priced model: catalog defaults, replaced by overrides where set (`source`)."""
        if provider is not None:
            spec = find_provider(provider)
            provider = spec.id if spec is not None else provider.lower()
        overrides = {
            (e.provider, e.model): e for e in await queries.all_overrides(control_state(request).pool, provider)
        }
        rows: list[PriceRow] = []
        for spec in PROVIDERS.values():
            if provider is not None and spec.id != provider:
                continue
            for model, price in spec.prices.items():
                row = _row(overrides.pop((spec.id, model), None), spec.id, model, price)
                if row is not None:
                    rows.append(row)
        rows.extend(
            PriceRow(
                provider=e.provider,
                model=e.model,
                input=e.input,
                output=e.output,
                cached=e.cached,
                reasoning=e.reasoning,
                source="override",
            )
            for e in overrides.values()
        )
        return PriceTable(prices=rows)

    @patch("/")
    async def patch_pricing(self, request: Request[Any, Any, Any], data: JSONBody[PricingPatch]) -> PriceTable:
        """Upsert or remove overrides: one change, or a list under `prices` applied together (all or nothing)."""
        changes = data.changes()
        if changes is None:
            missing = "model" if data.provider is not UNSET else "provider"
            if data.prices is not UNSET:
                raise InvalidField("prices", "give either prices or one change's fields, not both")
            raise InvalidField(missing, "is required (or give a list under prices)")
        if not changes:
            raise InvalidField("prices", "give at least one price change")
        listed = data.prices is not UNSET
        state = control_state(request)
        rows: list[PriceRow] = []
        seen: set[tuple[str, str]] = set()
        async with state.writer.transaction() as conn:
            for index, change in enumerate(changes):
                where = f"prices[{index}]." if listed else ""
                spec = find_provider(change.provider)
                key = (spec.id if spec is not None else change.provider.lower(), change.model)
                if key in seen:
                    raise InvalidField(f"{where}model", "is changed twice in one request")
                seen.add(key)
                row = await _apply(conn, request, change, where)
                if row is not None:
                    rows.append(row)
        return PriceTable(prices=rows)

    @delete("/", status_code=200)
    async def delete_pricing(
        self,
        request: Request[Any, Any, Any],
        provider: Annotated[str, QueryParameter(min_length=1, max_length=64)],
        model: Annotated[str, QueryParameter(min_length=1, max_length=256)],
    ) -> Deleted:
        """Remove one override (`?provider=&model=`): the catalog price, if any, applies again."""
        state = control_state(request)
        async with state.writer.transaction() as conn:
            await _apply(conn, request, PriceChange(provider=provider, model=model, input=None, output=None), "")
        spec = find_provider(provider)
        return Deleted(id=f"{spec.id if spec is not None else provider.lower()}/{model}", deleted=True)
