"""Wire shapes of /api/pricing: US dollars per one million tokens."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["PriceChange", "PriceRow", "PriceTable"]

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
