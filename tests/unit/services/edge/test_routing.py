"""Routing: model strings to routes, strategies, and the candidates left after fleet state."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from shared.config.snapshot import ComboConfig, ComboStep, ConnectionConfig, Snapshot
from shared.routing.candidates import Availability, candidates, needs
from shared.routing.config import EdgeConfig
from shared.routing.order import Signals, order
from shared.routing.route import Combo, Step, resolve_route


def conn(ident: str, provider: str, priority: int = 1, **extra: object) -> ConnectionConfig:
    return ConnectionConfig(id=ident, provider=provider, name=ident, priority=priority, api_key="k", **extra)  # type: ignore[arg-type]


def combo(name: str, strategy: str, *steps: ComboStep) -> ComboConfig:
    return ComboConfig(id=name, name=name, strategy=strategy, steps=steps)


def config(*combos: ComboConfig, aliases: dict[str, str] | None = None, strategy: str = "fill-first") -> EdgeConfig:
    return EdgeConfig(
        Snapshot(
            version=1,
            published_at=0,
            connections=(
                conn("oa1", "openai", 1),
                conn("oa2", "openai", 2),
                conn("an1", "anthropic", 1),
                conn("ge1", "gemini", 1),
                conn("gr1", "groq", 5, models=("gpt-4o-mini",)),
            ),
            combos=combos,
            aliases=aliases or {},
            settings={"resilience": {"connectionStrategy": strategy}},
        )
    )


def test_resolution_order_combo_alias_prefix_bare() -> None:
    smart = combo("smart", "priority", ComboStep(model="openai/gpt-4o"), ComboStep(model="anthropic/claude-sonnet-4-5"))
    cfg = config(smart, aliases={"fast": "openai/gpt-4o-mini", "team": "smart"})
    assert resolve_route(cfg, "smart") == Combo(
        "smart", "priority", (Step("openai", "gpt-4o"), Step("anthropic", "claude-sonnet-4-5")), (1, 1)
    )
    assert resolve_route(cfg, "fast") == Step("openai", "gpt-4o-mini")
    assert isinstance(resolve_route(cfg, "team"), Combo)
    assert resolve_route(cfg, "oai/gpt-4o") == Step("openai", "gpt-4o")
    assert resolve_route(cfg, "claude-sonnet-4-5") == Step("anthropic", "claude-sonnet-4-5")
    bare = resolve_route(cfg, "gpt-4o-mini")  # served by two providers
    assert isinstance(bare, Combo) and [m.key for m in bare.members] == ["openai/gpt-4o-mini", "groq/gpt-4o-mini"]
    assert resolve_route(cfg, "nobody/nothing") is None
    assert resolve_route(cfg, "xai/grok-4") is None  # a catalog provider with no connection: not configured


def test_combos_reference_combos_and_cycles_stop() -> None:
    inner = combo("inner", "priority", ComboStep(model="gemini/gemini-2.5-flash"))
    outer = combo("outer", "priority", ComboStep(combo="inner"), ComboStep(model="openai/gpt-4o"))
    loop_a = combo("loop-a", "priority", ComboStep(combo="loop-b"))
    loop_b = combo("loop-b", "priority", ComboStep(combo="loop-a"))
    cfg = config(inner, outer, loop_a, loop_b)
    route = resolve_route(cfg, "outer")
    assert isinstance(route, Combo)
    assert isinstance(route.members[0], Combo) and route.members[0].name == "inner"
    assert resolve_route(cfg, "loop-a") is None  # depth-bounded, never infinite


def test_candidates_skip_cooldowns_and_open_breakers_and_put_the_session_first() -> None:
    cfg = config(combo("smart", "priority", ComboStep(model="openai/gpt-4o"), ComboStep(model="anthropic/claude")))
    route = resolve_route(cfg, "smart")
    assert route is not None
    found, skipped = candidates(route, cfg, Signals(), Availability())
    assert [c.target.upstream.connection.id for c in found] == ["oa1", "oa2", "an1"]
    availability = Availability(
        breakers={"anthropic": ("open", 5_000)}, cooldowns={"oa1": 2_000}, session_connection="oa2"
    )
    found, skipped = candidates(route, cfg, Signals(), availability)
    assert [c.target.upstream.connection.id for c in found] == ["oa2"]
    assert {(s.reason, s.retry_in_ms) for s in skipped} == {("cooldown", 2_000), ("breaker_open", 5_000)}
    due = Availability(breakers={"anthropic": ("open", 0)})
    found, _ = candidates(route, cfg, Signals(), due)
    assert [c.probe for c in found] == [False, False, True]


def test_connection_pinned_by_a_combo_step() -> None:
    cfg = config(combo("pin", "priority", ComboStep(model="openai/gpt-4o", connection_id="oa2")))
    route = resolve_route(cfg, "pin")
    assert route is not None
    found, _ = candidates(route, cfg, Signals(), Availability())
    assert [c.target.upstream.connection.id for c in found] == ["oa2"]


@pytest.mark.parametrize("strategy", ["round-robin", "least-used", "latency", "p2c"])
def test_needs_name_the_shared_signals_a_strategy_reads(strategy: str) -> None:
    cfg = config(combo("c", strategy, ComboStep(model="openai/gpt-4o"), ComboStep(model="gemini/g")))
    route = resolve_route(cfg, "c")
    assert route is not None
    found = needs(route, cfg)
    assert found.providers == ["openai", "gemini"]
    assert found.connections == ["oa1", "oa2", "ge1"]
    if strategy == "round-robin":
        assert found.rotations == ["combo:c"]
    if strategy == "least-used":
        assert found.uses == ["openai/gpt-4o", "gemini/g"]
    if strategy in ("latency", "p2c"):
        assert found.latencies == ["openai/gpt-4o", "gemini/g"]


def test_strategies_order_members() -> None:
    items = ["a", "b", "c"]
    same = {"key": lambda x: x, "weights": [1, 1, 1], "counter": "n"}
    assert order("priority", items, signals=Signals(), **same) == items  # type: ignore[arg-type]
    assert order("round-robin", items, signals=Signals(rotation={"n": 2}), **same) == ["b", "c", "a"]  # type: ignore[arg-type]
    assert order("round-robin", items, signals=Signals(rotation={"n": 4}), **same) == items  # type: ignore[arg-type]
    assert order("least-used", items, signals=Signals(uses={"a": 5, "b": 1}), **same) == ["c", "b", "a"]  # type: ignore[arg-type]
    slow = Signals(latencies={"a": [900.0] * 10, "b": [100.0] * 10, "c": [300.0] * 10})
    assert order("latency", items, signals=slow, **same) == ["b", "c", "a"]  # type: ignore[arg-type]
    assert order("cost-optimized", items, signals=Signals(), price={"a": 3.0, "b": 1.0, "c": 2.0}.get, **same) == [  # type: ignore[arg-type]
        "b",
        "c",
        "a",
    ]
    assert sorted(order("random", items, signals=Signals(rng=random.Random(1)), **same)) == items  # type: ignore[arg-type]


def test_weighted_strategy_follows_the_weights() -> None:
    firsts = Counter(
        order(
            "weighted", ["heavy", "light"], key=str, weights=[9, 1], counter="n", signals=Signals(rng=random.Random(i))
        )[0]
        for i in range(2000)
    )
    assert 0.85 < firsts["heavy"] / 2000 < 0.95


def test_p2c_picks_the_faster_of_two() -> None:
    signals = Signals(latencies={"fast": [10.0] * 5, "slow": [500.0] * 5}, rng=random.Random(3))
    assert order("p2c", ["slow", "fast"], key=str, weights=[1, 1], counter="n", signals=signals)[0] == "fast"
