"""Strategies: the order in which a combo's members, or a provider's connections, are tried.

Each strategy only orders; availability (cooldowns, breakers) is applied afterwards, so a member
that is cooling down keeps its place for the next request. Shared signals come from Redis through
the request's admission round trip (`Signals`): rotation counters, use counts, recent latencies.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from shared.kv.routing_stats import p95

__all__ = ["COMBO_STRATEGIES", "CONNECTION_STRATEGIES", "Signals", "order"]

T = TypeVar("T")

COMBO_STRATEGIES = ("priority", "weighted", "round-robin", "random", "least-used", "cost-optimized", "latency", "p2c")
CONNECTION_STRATEGIES = ("fill-first", "round-robin", "least-used", "random", "p2c")


_RNG = random.Random()  # one per process: seeding a generator per request costs more than the routing


@dataclass(slots=True)
class Signals:
    """What the fleet knows, read for this request: keyed by the names routing asked for."""

    rotation: dict[str, int] = field(default_factory=dict)  # counter name -> value after this request's bump
    uses: dict[str, int] = field(default_factory=dict)  # target key -> times chosen
    latencies: dict[str, list[float]] = field(default_factory=dict)  # target key -> recent ms, newest first
    rng: random.Random = field(default_factory=lambda: _RNG)


def _weighted(items: Sequence[T], weights: Sequence[int], rng: random.Random) -> list[T]:
    """A weighted random permutation (Efraimidis–Spirakis): heavier members tend to come first."""
    scored = [(rng.random() ** (1.0 / max(1, w)), i) for i, w in enumerate(weights)]
    return [items[i] for _, i in sorted(scored, reverse=True)]


def _rotated(items: Sequence[T], counter: int) -> list[T]:
    if not items:
        return []
    start = (counter - 1) % len(items)
    return [*items[start:], *items[:start]]


def _latency_of(key: str, signals: Signals) -> float:
    value = p95(signals.latencies.get(key, []))
    return 0.0 if value is None else value  # unmeasured targets get tried, so they get measured


def _p2c(items: Sequence[T], key: Callable[[T], str], signals: Signals) -> list[T]:
    """Power of two choices: of two random members, the one with the lower recent p95 first."""
    if len(items) < 2:
        return list(items)
    first, second = signals.rng.sample(range(len(items)), 2)
    a, b = items[first], items[second]
    best, other = (a, b) if _latency_of(key(a), signals) <= _latency_of(key(b), signals) else (b, a)
    rest = [item for i, item in enumerate(items) if i not in (first, second)]
    return [best, other, *rest]


def order(
    strategy: str,
    items: Sequence[T],
    *,
    key: Callable[[T], str],
    weights: Sequence[int],
    counter: str,
    signals: Signals,
    price: Callable[[T], float] | None = None,
) -> list[T]:
    """Items in the order to try them; `counter` names the rotation counter of this group."""
    if strategy in ("priority", "fill-first"):
        return list(items)
    if strategy == "weighted":
        return _weighted(items, weights, signals.rng)
    if strategy == "round-robin":
        return _rotated(items, signals.rotation.get(counter, 1))
    if strategy == "random":
        shuffled = list(items)
        signals.rng.shuffle(shuffled)
        return shuffled
    if strategy == "least-used":
        return sorted(items, key=lambda item: signals.uses.get(key(item), 0))
    if strategy == "cost-optimized" and price is not None:
        return sorted(items, key=price)
    if strategy == "latency":
        return sorted(items, key=lambda item: _latency_of(key(item), signals))
    if strategy == "p2c":
        return _p2c(items, key, signals)
    return list(items)
