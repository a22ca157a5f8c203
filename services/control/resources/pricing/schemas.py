"""Wire shapes of /api/pricing: US dollars per one million tokens."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["PriceChange", "PriceRow", "PriceTable", "PricingPatch"]

Usd = Annotated[float, Meta(ge=0, le=1_000_000)]


class PriceChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Upsert one override; fields left out keep the current override's (or the catalog's) value.

    `input` and `output` both `null` remove the override; `cached`/`reasoning` `null` clear that
    price (it then follows `input`/`output`)."""

    provider: Annotated[str, Meta(min_length=1, max_length=64)]
    model: Annotated[str, Meta(min_length=1, max_length=256)]
    input: Usd | UnsetType | None = UNSET
    output: Usd | UnsetType | None = UNSET
    cached: Usd | UnsetType | None = UNSET
    reasoning: Usd | UnsetType | None = UNSET


class PricingPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One change (its fields at the top level), or several under `prices`, applied all or nothing."""

    provider: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    model: Annotated[str, Meta(min_length=1, max_length=256)] | UnsetType = UNSET
    input: Usd | UnsetType | None = UNSET
    output: Usd | UnsetType | None = UNSET
    cached: Usd | UnsetType | None = UNSET
    reasoning: Usd | UnsetType | None = UNSET
    prices: Annotated[list[PriceChange], Meta(max_length=1000)] | UnsetType = UNSET

    def changes(self) -> list[PriceChange] | None:
        """The changes asked for; None when the body mixes both forms or names no model."""
        single = {name: getattr(self, name) for name in ("provider", "model", "input", "output", "cached", "reasoning")}
        given = {name: value for name, value in single.items() if value is not UNSET}
        if self.prices is not UNSET:
            return None if given else list(self.prices)
        return [PriceChange(**given)] if "provider" in given and "model" in given else None


class PriceRow(msgspec.Struct, kw_only=True):
    provider: str
    model: str
    input: float
    output: float
    cached: float | None
    reasoning: float | None
    source: Literal["catalog", "override"]


class PriceTable(msgspec.Struct, kw_only=True):
    prices: list[PriceRow]
