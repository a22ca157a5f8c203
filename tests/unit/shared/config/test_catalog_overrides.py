"""Custom models and price overrides carried in the snapshot's settings, as the edge indexes them."""

from __future__ import annotations

from shared.config.catalog_overrides import MODELS_KEY, PRICING_KEY, catalog_overrides
from shared.config.snapshot import ConnectionConfig, NodeConfig, Snapshot
from shared.providers.spec import Price
from shared.routing.config import EdgeConfig, connection_upstream
from shared.routing.route import Step, resolve_route

SETTINGS = {
    MODELS_KEY: [
        {"provider": "openai", "model": "ft:acme", "kind": "chat"},
        {"provider": "openai", "model": "gpt-4o", "hidden": True},
        {"provider": "corp", "model": "corp-small"},
        {"provider": "openai", "model": 42},  # malformed: skipped, not fatal
        "garbage",
    ],
    PRICING_KEY: [
        {"provider": "openai", "model": "gpt-4o", "input": 1.0, "output": 2.0},
        {"provider": "corp", "model": "corp-small", "input": 0.1, "output": 0.2, "cached": 0.05, "reasoning": 0.3},
        {"provider": "openai", "model": "bad", "input": "x", "output": 1},
    ],
}


def config() -> EdgeConfig:
    return EdgeConfig(
        Snapshot(
            version=1,
            published_at=0,
            connections=(ConnectionConfig(id="c1", provider="openai", name="main", api_key="sk-x"),),
            nodes=(
                NodeConfig(
                    id="n1",
                    prefix="corp",
                    name="Corp",
                    type="openai-compatible",
                    base_url="http://x/v1",
                    models=("corp-large",),
                ),
            ),
            settings=SETTINGS,
        )
    )


def test_malformed_entries_are_skipped() -> None:
    overrides = catalog_overrides(SETTINGS)
    assert overrides.added == {"openai": ("ft:acme", "gpt-4o"), "corp": ("corp-small",)}
    assert overrides.hidden == frozenset({"openai/gpt-4o"})
    assert set(overrides.prices["openai"]) == {"gpt-4o"}
    assert catalog_overrides({MODELS_KEY: "nope", PRICING_KEY: None}).added == {}


def test_custom_models_are_listed_and_routable_hidden_ones_only_unlisted() -> None:
    edge = config()
    ids = dict(edge.model_ids())
    assert ids["openai/ft:acme"] == "openai"
    assert ids["corp/corp-small"] == "corp" and ids["corp/corp-large"] == "corp"
    assert "openai/gpt-4o" not in ids and "openai/gpt-4o-mini" in ids
    assert resolve_route(edge, "ft:acme") == Step("openai", "ft:acme")
    assert resolve_route(edge, "corp-small") == Step("corp", "corp-small")
    assert resolve_route(edge, "gpt-4o") == Step("openai", "gpt-4o")


def test_price_overrides_win_over_the_catalog() -> None:
    edge = config()
    [openai] = edge.upstreams_of("openai")
    assert openai.price("gpt-4o") == Price(1.0, 2.0)
    assert openai.price("gpt-4o-mini") == Price(0.15, 0.6, cached=0.075)  # catalog
    [corp] = edge.upstreams_of("corp")
    assert corp.price("corp-small") == Price(0.1, 0.2, cached=0.05, reasoning=0.3)
    assert corp.price("corp-large") is None


def test_a_lone_connection_is_built_as_the_edge_builds_it() -> None:
    upstream = connection_upstream(ConnectionConfig(id="c", provider="anthropic", name="a", api_key="sk-ant"))
    assert upstream is not None
    assert upstream.base_url == "https://api.anthropic.com"
    assert ("x-api-key", "sk-ant") in upstream.auth_headers
    assert connection_upstream(ConnectionConfig(id="c", provider="azure", name="a")) is None  # no base URL
