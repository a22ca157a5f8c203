"""GET /api/models/availability (every routable model) and POST (one model, target by target).

Status of a model: `available` when every target is available, `degraded` when some request could
still be served (some target available, or a half-open breaker's probe free), `unavailable`
otherwise (a model with no targets included).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.params import JSONBody

from services.control.context import control_state
from services.control.errors import NotFoundError
from services.control.resources.live.availability import (
    TargetState,
    TargetStatus,
    read_availability,
    target_statuses,
    usable,
)
from services.control.resources.live.fleet import fleet_state
from shared.routing.config import EdgeConfig
from shared.routing.route import Route, resolve_route

__all__ = ["AvailabilityQuery", "model_availability", "models_availability"]

ModelStatus = Literal["available", "degraded", "unavailable"]


class ModelSummary(msgspec.Struct, kw_only=True, rename="camel"):
    model: str
    status: ModelStatus
    targets: int
    available_targets: int  # targets in state `available`


class ModelsAvailability(msgspec.Struct, kw_only=True):
    models: list[ModelSummary]


class AvailabilityQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class TargetView(msgspec.Struct, kw_only=True, rename="camel"):
    provider: str
    model: str
    connection_id: str | None
    connection_name: str | None
    state: TargetState
    retry_in_ms: int


class ModelAvailability(msgspec.Struct, kw_only=True):
    model: str
    available: bool  # a request now would have a target to try
    targets: list[TargetView]


def _status(statuses: list[TargetStatus]) -> ModelStatus:
    if statuses and all(s.state == "available" for s in statuses):
        return "available"
    return "degraded" if any(usable(s) for s in statuses) else "unavailable"


async def _config(request: Request[Any, Any, Any]) -> EdgeConfig:
    """The configuration as the edges have it: a snapshot built from Postgres, the source of truth."""
    return EdgeConfig(await control_state(request).publisher.build())


@get("/api/models/availability", tags=["models"])
async def models_availability(request: Request[Any, Any, Any]) -> ModelsAvailability:
    """Every routable model id (`provider/model` of active connections and nodes, and active combos)."""
    config = await _config(request)
    routes: dict[str, Route | None] = {model: resolve_route(config, model) for model, _ in config.model_ids()}
    with fleet_state():
        fleet = await read_availability(
            control_state(request).redis, config, (r for r in routes.values() if r is not None)
        )
    summaries = []
    for model, route in routes.items():
        statuses = target_statuses(route, config, fleet) if route is not None else []
        summaries.append(
            ModelSummary(
                model=model,
                status=_status(statuses),
                targets=len(statuses),
                available_targets=sum(s.state == "available" for s in statuses),
            )
        )
    return ModelsAvailability(models=summaries)


@post("/api/models/availability", status_code=200, tags=["models"])
async def model_availability(request: Request[Any, Any, Any], data: JSONBody[AvailabilityQuery]) -> ModelAvailability:
    """One model string as a client would send it (alias, combo, `provider/model` or a bare model)."""
    config = await _config(request)
    route = resolve_route(config, data.model)
    if route is None:
        raise NotFoundError(f"model {data.model[:200]!r}")
    with fleet_state():
        fleet = await read_availability(control_state(request).redis, config, [route])
    statuses = target_statuses(route, config, fleet)
    return ModelAvailability(
        model=data.model,
        available=any(usable(s) for s in statuses),
        targets=[
            TargetView(
                provider=s.provider,
                model=s.model,
                connection_id=s.connection_id,
                connection_name=s.connection_name,
                state=s.state,
                retry_in_ms=s.retry_in_ms,
            )
            for s in statuses
        ],
    )
