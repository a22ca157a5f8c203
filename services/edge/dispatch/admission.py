"""Admission: everything a request must learn from the fleet before it is sent, in one round trip.

One batch carries the API key's limits (consumed atomically: all or none), its budget reservation
(shared/kv/budget.py), the breaker of each
provider the route may use, the cooldown of each connection, the session's pinned connection and
the routing signals its strategies read (rotation counters bumped, use counts, recent latencies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.edge.dispatch.budget import BudgetHold, budget_headers, budget_refusal
from services.edge.dispatch.fleet import Fleet, Trips
from services.edge.dispatch.limits import Decided, limit_headers, refusal
from shared.canonical.errors import RateLimited
from shared.config.limits import NamedLimit, scaled
from shared.kv.batch import Batch, Slot
from shared.kv.breaker import BreakerView
from shared.kv.budget import BudgetView
from shared.kv.ratelimit import LimitDecision
from shared.routing.candidates import Availability, Needs
from shared.routing.config import EdgeConfig
from shared.routing.order import Signals

__all__ = ["Admission", "admit", "cost_of", "use_counter"]


def use_counter(target_key: str) -> str:
    return "use:" + target_key


@dataclass(slots=True)
class Admission:
    availability: Availability
    signals: Signals
    limits: list[Decided] = field(default_factory=list)
    local: bool = False  # served by the process-local fallback (Redis unreachable)
    budget: tuple[BudgetHold, BudgetView] | None = None  # the key's budget reservation, when it has a budget

    @property
    def limits_named(self) -> list[NamedLimit]:
        return [decided.limit for decided in self.limits]

    @property
    def headers(self) -> dict[str, str]:
        headers = limit_headers(self.limits)
        if self.budget is not None:
            headers |= budget_headers(*self.budget)
        return headers

    def refusal(self) -> RateLimited | None:
        return refusal(self.limits, "API key")

    def budget_refusal(self) -> RateLimited | None:
        return budget_refusal(*self.budget) if self.budget is not None else None

    @property
    def budget_held(self) -> BudgetHold | None:
        """The reservation this request holds (to be settled), if admission made one."""
        if self.budget is None or not self.budget[1].done:
            return None
        return self.budget[0]


@dataclass(slots=True)
class _Queued:
    limits: list[NamedLimit]
    decisions: Slot[list[LimitDecision]]
    breakers: list[tuple[str, Slot[BreakerView]]]
    cooling: Slot[dict[str, int]]
    session: Slot[str | None] | None
    rotations: list[tuple[str, Slot[int]]]
    uses: Slot[list[int]] | None
    latencies: Slot[list[list[float]]] | None
    budget: tuple[BudgetHold, Slot[BudgetView]] | None
    local: bool


def cost_of(limit: NamedLimit, tokens: int) -> int:
    return 1 if limit.unit == "requests" else tokens


async def admit(
    fleet: Fleet,
    config: EdgeConfig,
    trips: Trips,
    *,
    needs: Needs,
    key_limits: Sequence[NamedLimit],
    estimated_tokens: int,
    session_key: str | None,
    budget: BudgetHold | None = None,
) -> Admission:
    divisor = config.rate_limits.fallback_divisor
    ttl = config.resilience.session_ttl_ms

    def queue(batch: Batch, local: bool) -> _Queued:
        limits = [scaled(limit, divisor) if local else limit for limit in key_limits]
        items = [(limit.name, limit.rate, cost_of(limit, estimated_tokens)) for limit in limits]
        return _Queued(
            limits=limits,
            decisions=fleet.limiter.consume(batch, items),
            breakers=[(provider, fleet.breaker.read(batch, provider)) for provider in needs.providers],
            cooling=fleet.cooldown.remaining(batch, needs.connections),
            session=fleet.sessions.get(batch, session_key, ttl) if session_key else None,
            rotations=[(name, fleet.stats.bump(batch, name)) for name in needs.rotations],
            uses=fleet.stats.counts(batch, [use_counter(k) for k in needs.uses]) if needs.uses else None,
            latencies=fleet.stats.latencies(batch, needs.latencies) if needs.latencies else None,
            budget=(budget, budget.reserve(fleet.budgets, batch)) if budget is not None else None,
            local=local,
        )

    queued = await fleet.run(queue, trips, "admission")
    return _admission(queued, needs)


def _admission(queued: _Queued, needs: Needs) -> Admission:
    availability = Availability()
    for provider, slot in queued.breakers:
        view = slot.value
        availability.breakers[provider] = (view.state, view.retry_in_ms)
        if view.failures > 0 or view.state != "closed":
            availability.failing.add(provider)
    availability.cooldowns = queued.cooling.value
    availability.session_connection = queued.session.value if queued.session is not None else None
    signals = Signals()
    signals.rotation = {name: slot.value for name, slot in queued.rotations}
    if queued.uses is not None:
        signals.uses = dict(zip(needs.uses, queued.uses.value, strict=True))
    if queued.latencies is not None:
        signals.latencies = dict(zip(needs.latencies, queued.latencies.value, strict=True))
    decided = [Decided(limit, d) for limit, d in zip(queued.limits, queued.decisions.value, strict=True)]
    held = (queued.budget[0], queued.budget[1].value) if queued.budget is not None else None
    return Admission(availability, signals, decided, queued.local, held)
