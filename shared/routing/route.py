"""From a client model string to a route: a provider target, or a combo of routes with a strategy.

Resolution order: a combo name, then a user alias (which may name a combo or a target), then a
`provider/model` prefix (catalog id or alias, or a provider node prefix; the model part may hold
slashes), then a bare model served by one or more configured providers. Nothing else: no silent
fallback to a model the user did not configure. Resolution is static (config only); the order a
combo's members are tried in is decided per request by its strategy (see order.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.routing.config import EdgeConfig

__all__ = ["MAX_DEPTH", "Combo", "Route", "Step", "resolve_route"]

MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class Step:
    """One provider's model, optionally pinned to one of its connections."""

    provider: str
    model: str
    connection_id: str | None = None
    weight: int = 1

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True, slots=True)
class Combo:
    name: str
    strategy: str
    members: tuple[Route, ...]
    weights: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"combo:{self.name}"


Route = Step | Combo


def _target(config: EdgeConfig, model: str, connection_id: str | None, weight: int, depth: int) -> Route | None:
    prefix, slash, rest = model.partition("/")
    if slash and rest:
        provider = config.provider_id(prefix)
        if provider is not None:
            return Step(provider, rest, connection_id, weight)
    if connection_id is None and depth < MAX_DEPTH:
        return resolve_route(config, model, depth + 1)
    return None


def _combo(config: EdgeConfig, name: str, depth: int) -> Combo | None:
    combo = config.combos[name]
    members: list[Route] = []
    weights: list[int] = []
    for step in combo.steps:
        if step.combo is not None:
            member = resolve_route(config, step.combo, depth + 1) if step.combo in config.combos else None
        elif step.model is not None:
            member = _target(config, step.model, step.connection_id, step.weight, depth)
        else:
            member = None
        if member is not None:
            members.append(member)
            weights.append(max(1, step.weight))
    return Combo(name, combo.strategy, tuple(members), tuple(weights)) if members else None


def _bare(config: EdgeConfig, model: str) -> Route | None:
    providers: list[str] = []
    for upstream in config.owners_of(model):
        if upstream.spec.id not in providers:
            providers.append(upstream.spec.id)
    if not providers:
        return None
    if len(providers) == 1:
        return Step(providers[0], model)
    steps = tuple(Step(provider, model) for provider in providers)
    return Combo(f"bare:{model}", "priority", steps, tuple(1 for _ in steps))


def resolve_route(config: EdgeConfig, model: str, depth: int = 0) -> Route | None:
    if depth > MAX_DEPTH or not model:
        return None
    if model in config.combos:
        return _combo(config, model, depth)
    alias = config.aliases.get(model)
    if alias is not None:
        return resolve_route(config, alias, depth + 1)
    target = _target(config, model, None, 1, MAX_DEPTH)  # no recursion: a prefix or nothing
    return target if target is not None else _bare(config, model)
