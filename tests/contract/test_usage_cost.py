"""Every provider with a price gets a cost in its usage events, driven by the catalog registry:
catalog prices and /api/pricing overrides (for catalog providers and for provider nodes)."""

from __future__ import annotations

import pytest

from services.edge.pipeline.exchange import Exchange
from shared.canonical.usage import Usage
from shared.config.catalog_overrides import PRICING_KEY
from shared.config.snapshot import ConnectionConfig, KeyConfig, NodeConfig, Snapshot
from shared.kv.usage_stream import UsageEvent
from shared.pricing import cost_micros
from shared.providers.catalog import PROVIDERS
from shared.routing.config import EdgeConfig, Target

USAGE = Usage(
    input_tokens=1_234_567, output_tokens=765_432, cached_tokens=200_000, reasoning_tokens=100_000, reported=True
)
UNPRICED = next(spec for spec in PROVIDERS.values() if spec.models and not spec.prices)
OVERRIDES = [
    {"provider": "openai", "model": "gpt-4o", "input": 1.0, "output": 2.0, "cached": 0.5, "reasoning": 3.0},
    {"provider": UNPRICED.id, "model": UNPRICED.models[0], "input": 0.2, "output": 0.4},
    {"provider": "mynode", "model": "local-1", "input": 0.1, "output": 0.3},
]


class Collected:
    def __init__(self) -> None:
        self.events: list[UsageEvent] = []

    def emit(self, event: UsageEvent) -> None:
        self.events.append(event)


def config() -> EdgeConfig:
    connections = tuple(
        ConnectionConfig(
            id=f"00000000-0000-0000-0000-{i:012d}",
            provider=ident,
            name=ident,
            api_key="k",
            base_url="http://127.0.0.1:9/v1",
        )
        for i, ident in enumerate(PROVIDERS)
    )
    node = NodeConfig(
        id="10000000-0000-0000-0000-000000000000",
        prefix="mynode",
        name="n",
        type="openai-compatible",
        base_url="http://127.0.0.1:9/v1",
        models=("local-1",),
    )
    return EdgeConfig(
        Snapshot(version=1, published_at=0.0, connections=connections, nodes=(node,), settings={PRICING_KEY: OVERRIDES})
    )


def priced_targets() -> list[tuple[str, str]]:
    edge = config()
    return sorted({(up.spec.id, model) for up in edge.upstreams() for model in up.spec.prices})


def test_every_catalog_price_and_override_is_reachable() -> None:
    found = set(priced_targets())
    catalog = {(ident, model) for ident, spec in PROVIDERS.items() for model in spec.prices}
    assert catalog <= found
    assert {(o["provider"], o["model"]) for o in OVERRIDES} <= found


@pytest.mark.parametrize(("provider", "model"), priced_targets())
def test_the_edge_puts_the_cost_in_the_usage_event(provider: str, model: str) -> None:
    edge = config()
    upstream = next(up for up in edge.upstreams() if up.spec.id == provider)
    exchange = Exchange("req-1", "chat.completions", "openai_chat")
    exchange.key = KeyConfig(id="20000000-0000-0000-0000-000000000000", name="k", key_hash="h")
    exchange.target = Target(upstream, model)
    exchange.settle(USAGE)
    sink = Collected()
    exchange.finish(sink, 200)  # type: ignore[arg-type]
    price = upstream.price(model)
    assert price is not None
    expected = cost_micros(USAGE, price)
    assert sink.events[0].cost_micros == expected
    if price.input or price.output:
        assert expected > 0
    override = next((o for o in OVERRIDES if (o["provider"], o["model"]) == (provider, model)), None)
    if override is not None:
        assert (price.input, price.output) == (override["input"], override["output"])
