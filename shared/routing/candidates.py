"""A route flattened into the connections to try, in order, minus those the fleet says to avoid.

Combo members are ordered by their combo's strategy, a provider's connections by the connection
strategy; a session's pinned connection goes first when it is available. Connections in cooldown
and providers whose breaker is open are skipped (and remembered, so an all-unavailable answer
can say why and when to retry); a provider whose breaker is due for its half-open probe stays in,
marked `probe`, and the dispatcher asks for the fleet's single probe before using it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shared.routing.config import EdgeConfig, Target, Upstream
from shared.routing.order import Signals, order
from shared.routing.route import Combo, Route, Step

__all__ = ["Availability", "Candidate", "Needs", "Skipped", "candidates", "needs"]


@dataclass(frozen=True, slots=True)
class Candidate:
    target: Target
    step: Step
    probe: bool = False  # the provider's breaker is due for its one half-open probe


@dataclass(frozen=True, slots=True)
class Skipped:
    provider: str
    model: str
    connection_id: str | None
    reason: str  # "cooldown" | "breaker_open" | "no_connection"
    retry_in_ms: int = 0


@dataclass(slots=True)
class Availability:
    """Fleet state read at admission: breaker per provider (state, ms until due), cooldown per connection."""

    breakers: dict[str, tuple[str, int]] = field(default_factory=dict)  # provider -> (state, retry_in_ms)
    cooldowns: dict[str, int] = field(default_factory=dict)  # connection id -> remaining ms
    failing: set[str] = field(default_factory=set)  # providers whose breaker counts failures: a success clears them
    session_connection: str | None = None


@dataclass(slots=True)
class Needs:
    """What admission must read (or bump) in Redis for this route."""

    providers: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    rotations: list[str] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)
    latencies: list[str] = field(default_factory=list)


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def needs(route: Route, config: EdgeConfig) -> Needs:
    found = Needs()
    strategy = config.resilience.connection_strategy

    def visit(node: Route) -> None:
        if isinstance(node, Step):
            _add(found.providers, node.provider)
            upstreams = config.upstreams_of(node.provider)
            for upstream in upstreams:
                _add(found.connections, upstream.connection.id)
            if len(upstreams) > 1 and strategy == "round-robin":
                _add(found.rotations, f"conn:{node.provider}")
            if len(upstreams) > 1 and strategy in ("least-used", "p2c"):
                for upstream in upstreams:
                    _add(found.uses if strategy == "least-used" else found.latencies, f"conn:{upstream.connection.id}")
            return
        if node.strategy == "round-robin":
            _add(found.rotations, node.key)
        for member in node.members:
            if node.strategy == "least-used":
                _add(found.uses, member.key)
            elif node.strategy in ("latency", "p2c"):
                _add(found.latencies, member.key)
            visit(member)

    visit(route)
    return found


def _price(config: EdgeConfig, node: Route) -> float:
    if isinstance(node, Combo):
        return min((_price(config, member) for member in node.members), default=math.inf)
    for upstream in config.upstreams_of(node.provider):
        price = upstream.price(node.model)
        if price is not None:
            return price.input + price.output
    return math.inf


def _connections(step: Step, config: EdgeConfig, signals: Signals) -> list[Upstream]:
    upstreams = config.upstreams_of(step.provider)
    if step.connection_id is not None:
        return [u for u in upstreams if u.connection.id == step.connection_id]
    return order(
        config.resilience.connection_strategy,
        upstreams,
        key=lambda u: f"conn:{u.connection.id}",
        weights=[1] * len(upstreams),
        counter=f"conn:{step.provider}",
        signals=signals,
    )


class _Flattener:
    def __init__(self, config: EdgeConfig, signals: Signals, availability: Availability) -> None:
        self.config, self.signals, self.availability = config, signals, availability
        self.found: list[Candidate] = []
        self.skipped: list[Skipped] = []
        self._seen: set[tuple[str, str]] = set()

    def step(self, step: Step) -> None:
        state, retry_in = self.availability.breakers.get(step.provider, ("closed", 0))
        upstreams = _connections(step, self.config, self.signals)
        if not upstreams:
            self.skipped.append(Skipped(step.provider, step.model, step.connection_id, "no_connection"))
            return
        if state == "open" and retry_in > 0:
            self.skipped.append(Skipped(step.provider, step.model, None, "breaker_open", retry_in))
            return
        pinned = self.availability.session_connection
        upstreams.sort(key=lambda u: u.connection.id != pinned)  # stable: the pinned one first
        for upstream in upstreams:
            identity = (upstream.connection.id, step.model)
            if identity in self._seen:
                continue
            self._seen.add(identity)
            cooling = self.availability.cooldowns.get(upstream.connection.id, 0)
            if cooling > 0:
                self.skipped.append(Skipped(step.provider, step.model, upstream.connection.id, "cooldown", cooling))
                continue
            self.found.append(Candidate(Target(upstream, step.model), step, probe=state != "closed"))

    def visit(self, node: Route) -> None:
        if isinstance(node, Step):
            self.step(node)
            return
        members = order(
            node.strategy,
            node.members,
            key=lambda member: member.key,
            weights=node.weights,
            counter=node.key,
            signals=self.signals,
            price=lambda member: _price(self.config, member),
        )
        for member in members:
            self.visit(member)


def candidates(
    route: Route, config: EdgeConfig, signals: Signals, availability: Availability
) -> tuple[list[Candidate], list[Skipped]]:
    flattener = _Flattener(config, signals, availability)
    flattener.visit(route)
    return flattener.found, flattener.skipped
