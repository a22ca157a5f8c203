"""Cost for usage events that arrived without one, from the same prices the edge uses.

The edge is authoritative: it prices each request from its snapshot (catalog prices with the
/api/pricing overrides on top) and sends `cost_micros`. An event with tokens but a cost of 0 was
priced by an edge that knew no price for its model (an older snapshot, a price added later); the
worker prices it here from the `pricing` table, then the catalog, with the same function
(shared/pricing.py). An event that already has a cost is never repriced.
"""

from __future__ import annotations

import asyncpg
import msgspec

from shared.canonical.usage import Usage
from shared.kv.usage_stream import UsageEvent
from shared.pricing import cost_micros
from shared.providers.catalog import PROVIDERS
from shared.providers.spec import Price

__all__ = ["fill_missing_costs", "needs_cost"]

_OVERRIDES = """SELECT provider, model, input_per_million, output_per_million, cached_per_million,
    reasoning_per_million FROM pricing WHERE provider = ANY($1::text[])"""


def needs_cost(event: UsageEvent) -> bool:
    return event.cost_micros == 0 and event.provider is not None and (event.tokens_in or event.tokens_out) > 0


def _optional(value: object) -> float | None:
    return None if value is None else float(str(value))


async def _prices(pool: asyncpg.Pool, providers: set[str]) -> dict[tuple[str, str], Price]:
    prices = {
        (provider, model): price
        for provider in providers
        if (spec := PROVIDERS.get(provider)) is not None
        for model, price in spec.prices.items()
    }
    for row in await pool.fetch(_OVERRIDES, sorted(providers)):
        prices[(row["provider"], row["model"])] = Price(
            float(row["input_per_million"]),
            float(row["output_per_million"]),
            cached=_optional(row["cached_per_million"]),
            reasoning=_optional(row["reasoning_per_million"]),
        )
    return prices


async def fill_missing_costs(pool: asyncpg.Pool, events: list[UsageEvent]) -> list[UsageEvent]:
    """The events, with a cost computed for those that lack one and have a known price."""
    missing = [e for e in events if needs_cost(e)]
    if not missing:
        return events
    prices = await _prices(pool, {e.provider for e in missing if e.provider})
    priced: list[UsageEvent] = []
    for event in events:
        price = prices.get((event.provider or "", event.model or "")) if needs_cost(event) else None
        if price is None:
            priced.append(event)
            continue
        usage = Usage(
            input_tokens=event.tokens_in,
            output_tokens=event.tokens_out,
            cached_tokens=event.tokens_cached,
            reasoning_tokens=event.tokens_reasoning,
            reported=True,
        )
        priced.append(msgspec.structs.replace(event, cost_micros=cost_micros(usage, price)))
    return priced
