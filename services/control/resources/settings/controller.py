"""/api/resilience, /api/rate-limit, /api/settings/idempotency: typed settings rows every edge reads."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, put
from litestar.params import JSONBody
from redis.exceptions import RedisError

from services.control.context import control_state
from services.control.resources.live.resilience_state import ResilienceState, read_state
from services.control.resources.settings.rules import IDEMPOTENCY, RATE_LIMIT, RESILIENCE
from services.control.resources.settings.store import read_row, write_row
from shared.config.resilience import IdempotencySettings, ResilienceSettings

__all__ = ["IdempotencySettingsController", "RateLimitController", "ResilienceController"]

log = logging.getLogger(__name__)


class ResilienceAnswer(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What /api/resilience answers: the settings, and (`state`, on GET) the live breaker and cooldown state.

    `state` is what the edges share in Redis (breakers per provider, cooldowns per connection); it
    is absent from write answers, and from GET when Redis cannot be read (the settings still can).
    """

    settings: ResilienceSettings
    state: ResilienceState | None = None


def _json(value: Any) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(value)
    return result


def _unwrapped(data: dict[str, Any]) -> dict[str, Any]:
    """Accept GET's own shape back (`{"settings": {...}}`) as well as the bare fields."""
    inner = data.get("settings")
    return inner if len(data) == 1 and isinstance(inner, dict) else data


class ResilienceController(Controller):
    path = "/api/resilience"
    tags = ["resilience"]

    @get("/")
    async def get_resilience(self, request: Request[Any, Any, Any]) -> ResilienceAnswer:
        """Breaker, cooldown, timeout, retry and connection-choice settings (defaults where unset), and live state."""
        settings = await read_row(request, RESILIENCE)
        control = control_state(request)
        try:
            state = await read_state(control.pool, control.redis)
        except (RedisError, OSError) as exc:
            log.warning(
                "resilience state unreadable; answering the settings alone", extra={"error": type(exc).__name__}
            )
            state = None
        return ResilienceAnswer(settings=settings, state=state)

    @put("/")
    async def put_resilience(self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> ResilienceAnswer:
        """Merge the given fields into the stored settings."""
        return ResilienceAnswer(settings=await write_row(request, RESILIENCE, _unwrapped(data)))

    @patch("/")
    async def patch_resilience(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> ResilienceAnswer:
        """Merge the given fields into the stored settings."""
        return ResilienceAnswer(settings=await write_row(request, RESILIENCE, _unwrapped(data)))


class RateLimitController(Controller):
    path = "/api/rate-limit"
    tags = ["rate-limit"]

    # RateLimitSettings carries a struct default (KeyLimits()) the OpenAPI renderer cannot serialise,
    # so these two answer its JSON form.
    @get("/")
    async def get_rate_limit(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Global rate-limit settings (shared.config.resilience.RateLimitSettings, defaults where unset)."""
        return _json(await read_row(request, RATE_LIMIT))

    @put("/")
    async def put_rate_limit(self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        """Merge the given fields (`keyDefaults` field by field) into the stored settings."""
        return _json(await write_row(request, RATE_LIMIT, data))


class IdempotencySettingsController(Controller):
    path = "/api/settings/idempotency"
    tags = ["settings"]

    @get("/")
    async def get_idempotency(self, request: Request[Any, Any, Any]) -> IdempotencySettings:
        result: IdempotencySettings = await read_row(request, IDEMPOTENCY)
        return result

    @put("/")
    async def put_idempotency(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> IdempotencySettings:
        """Merge the given fields into the stored settings."""
        result: IdempotencySettings = await write_row(request, IDEMPOTENCY, data)
        return result
