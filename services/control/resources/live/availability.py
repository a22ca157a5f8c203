"""Whether a model can be served now: its route's targets, each classified against the fleet's state.

The route comes from the same code the edge runs (`resolve_route`, `needs`, `candidates`) over an
`EdgeConfig` built from a fresh snapshot of Postgres. `candidates` runs twice with default signals:
once with everything available, which lists every target the route has, and once with the breaker
and cooldown state read from Redis, which says what the edge would skip and why. Policies are not
applied (they depend on the caller's key and the time of day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from shared.kv.batch import RedisBatch
from shared.kv.breaker import Breaker
from shared.kv.cooldown import Cooldown
from shared.routing.candidates import Availability, candidates, needs
from shared.routing.config import EdgeConfig
from shared.routing.order import Signals
from shared.routing.route import Route

__all__ = ["TargetState", "TargetStatus", "read_availability", "target_statuses", "usable"]

TargetState = Literal["available", "cooldown", "breaker_open", "half_open", "no_connection"]


@dataclass(frozen=True, slots=True)
class TargetStatus:
    provider: str
    model: str
    connection_id: str | None
    connection_name: str | None
    state: TargetState
    retry_in_ms: int  # cooldown: remaining; breaker_open: until the probe is due; half_open: until a taken probe lapses


def usable(status: TargetStatus) -> bool:
    """A request now would be sent there: available, or half-open with the fleet's one probe free."""
    return status.state == "available" or (status.state == "half_open" and status.retry_in_ms == 0)


async def read_availability(redis: Redis, config: EdgeConfig, routes: Iterable[Route]) -> Availability:
    """Breaker views of every provider and cooldowns of every connection the routes use: one round trip."""
    providers: dict[str, None] = {}
    connections: dict[str, None] = {}
    for route in routes:
        wanted = needs(route, config)
        providers.update(dict.fromkeys(wanted.providers))
        connections.update(dict.fromkeys(wanted.connections))
    breaker = Breaker(redis)
    batch = RedisBatch(redis)
    views = {provider: breaker.read(batch, provider) for provider in providers}
    cooling = Cooldown(redis).remaining(batch, list(connections))
    await batch.run()
    return Availability(
        breakers={provider: (slot.value.state, slot.value.retry_in_ms) for provider, slot in views.items()},
        cooldowns=cooling.value,
    )


def target_statuses(route: Route, config: EdgeConfig, availability: Availability) -> list[TargetStatus]:
    """Every target of the route in the order the edge would try them (with default signals), classified."""
    every, missing = candidates(route, config, Signals(), Availability())
    live, skipped = candidates(route, config, Signals(), availability)
    probing = {(c.target.upstream.connection.id, c.target.model): c.probe for c in live}
    cooling = {(s.connection_id, s.model): s.retry_in_ms for s in skipped if s.reason == "cooldown"}
    statuses: list[TargetStatus] = []
    for candidate in every:
        connection, model = candidate.target.upstream.connection, candidate.target.model
        provider = candidate.step.provider
        key = (connection.id, model)
        retry = availability.breakers.get(provider, ("closed", 0))[1]
        state: TargetState
        if key in probing:
            state, retry = ("half_open", retry) if probing[key] else ("available", 0)
        elif key in cooling:
            state, retry = "cooldown", cooling[key]
        else:  # the live run skipped the whole step: its provider's breaker is open
            state = "breaker_open"
        statuses.append(TargetStatus(provider, model, connection.id, connection.name, state, retry))
    statuses.extend(TargetStatus(s.provider, s.model, s.connection_id, None, "no_connection", 0) for s in missing)
    return statuses
