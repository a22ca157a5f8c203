"""Custom models and price overrides, as the snapshot carries them to every edge.

The control plane keeps them in Postgres (`provider_models`, `pricing`) and ships them inside
`Snapshot.settings` under two reserved keys, so the snapshot format needs no new field and an
older edge simply ignores them:

- `providerModels`: `[{"provider", "model", "hidden", "kind", ...}]`: a model a provider (catalog
  id or provider node prefix) serves besides its catalog list, or a catalog model marked hidden;
- `pricingOverrides`: `[{"provider", "model", "input", "output", "cached"?, "reasoning"?}]`:
  US dollars per million tokens, taking precedence over the catalog's price.

Hiding is listing-only (as in the original): a hidden model is left out of `/v1/models` and the
catalog but still served when a client names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from shared.providers.spec import Price

__all__ = [
    "MODELS_KEY",
    "PRICING_KEY",
    "CatalogOverrides",
    "ModelEntry",
    "PriceEntry",
    "catalog_overrides",
]

MODELS_KEY = "providerModels"
PRICING_KEY = "pricingOverrides"


class ModelEntry(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    provider: str
    model: str
    hidden: bool = False
    kind: str = "chat"
    display_name: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    capabilities: dict[str, bool] = msgspec.field(default_factory=dict)


class PriceEntry(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    model: str
    input: float
    output: float
    cached: float | None = None
    reasoning: float | None = None

    def price(self) -> Price:
        return Price(self.input, self.output, cached=self.cached, reasoning=self.reasoning)


@dataclass(frozen=True, slots=True)
class CatalogOverrides:
    added: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # provider -> models it also serves
    hidden: frozenset[str] = frozenset()  # "provider/model" left out of listings
    prices: Mapping[str, Mapping[str, Price]] = field(default_factory=dict)  # provider -> model -> price


def _entries(raw: Any, kind: type[Any]) -> list[Any]:
    """Each well-formed entry; a malformed one is skipped rather than costing the edge its whole config."""
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        try:
            found.append(msgspec.convert(item, kind))
        except msgspec.ValidationError:
            continue
    return found


def catalog_overrides(settings: Mapping[str, Any]) -> CatalogOverrides:
    added: dict[str, list[str]] = {}
    hidden: set[str] = set()
    for entry in _entries(settings.get(MODELS_KEY), ModelEntry):
        added.setdefault(entry.provider, []).append(entry.model)  # a catalog model is there already: no harm
        if entry.hidden:
            hidden.add(f"{entry.provider}/{entry.model}")
    prices: dict[str, dict[str, Price]] = {}
    for price in _entries(settings.get(PRICING_KEY), PriceEntry):
        prices.setdefault(price.provider, {})[price.model] = price.price()
    return CatalogOverrides(
        added={provider: tuple(models) for provider, models in added.items()},
        hidden=frozenset(hidden),
        prices=prices,
    )
