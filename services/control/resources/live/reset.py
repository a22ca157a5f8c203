"""POST /api/resilience/reset: close breakers and lift cooldowns, audited.

Scopes (the body): absent or `{}` resets every breaker and every cooldown; `{"provider": p}`
resets p's breaker and the cooldowns of all of p's connections (a provider's breaker usually opens
together with its connections cooling, and resetting one without the other would leave the
provider unusable); `{"connectionId": id}` lifts that connection's cooldown only. Resetting
something that holds no state is not an error (reset is idempotent); the answer lists what held
state and was cleared. A cooldown's escalation level is cleared with it, so the next cooldown
starts again from the base period.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, post
from litestar.params import JSONBody
from redis.asyncio import Redis

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import InvalidField
from services.control.resources.live.directory import provider_connection_ids
from services.control.resources.live.fleet import fleet_state
from services.control.state import ControlState
from shared.kv import keys
from shared.kv.batch import MemoryStore, RedisBatch, Slot
from shared.kv.breaker import Breaker, BreakerView, providers
from shared.kv.cooldown import read_all
from shared.kv.scripting import as_int, delete
from shared.providers.catalog import find_provider

__all__ = ["ResetAnswer", "ResetRequest", "reset_resilience"]

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ProviderId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
ConnectionId = Annotated[str, msgspec.Meta(pattern=_UUID)]
Scope = Literal["all", "provider", "connection"]


class ResetRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    provider: ProviderId | None = None  # a catalog id or alias, or a provider node's prefix
    connection_id: ConnectionId | None = None


class ResetAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    scope: Scope
    provider: str | None = None
    connection_id: str | None = None
    breakers: list[str]  # providers whose breaker held state and is now closed
    cooldowns: list[str]  # connections whose cooldown or escalation level was cleared


def _canonical_provider(given: str) -> str:
    """As the edge names breakers: the catalog id for an id or alias, else the lower-cased node prefix."""
    spec = find_provider(given)
    return spec.id if spec is not None else given.lower()


async def _targets(state: ControlState, body: ResetRequest) -> tuple[Scope, list[str], list[str]]:
    """(scope, providers whose breakers to reset, connections whose cooldowns to clear)."""
    if body.connection_id is not None:
        return "connection", [], [body.connection_id.lower()]
    if body.provider is not None:
        provider = _canonical_provider(body.provider)
        return "provider", [provider], await provider_connection_ids(state.pool, provider)
    with fleet_state():
        return "all", await providers(state.redis), [view.connection_id for view in await read_all(state.redis)]


def _clear_cooldown(batch: RedisBatch, connection_id: str) -> Slot[int]:
    """Delete the cooldown and its escalation level; the slot holds how many of the two existed."""
    names = (keys.cooldown(connection_id), keys.cooldown_level(connection_id))

    def queue(pipe: Any) -> Any:
        return pipe.delete(*names)

    def twin(store: MemoryStore) -> int:
        return delete(store, *names)

    return batch.call(queue, twin, as_int)


async def _clear(redis: Redis, names: list[str], connections: list[str]) -> tuple[list[str], list[str]]:
    """One round trip: each breaker is read just before its reset (to report whether it held state)."""
    breaker = Breaker(redis)
    batch = RedisBatch(redis)
    before: list[tuple[str, Slot[BreakerView]]] = []
    for provider in names:
        before.append((provider, breaker.read(batch, provider)))
        breaker.reset(batch, provider)
    cleared = [(connection_id, _clear_cooldown(batch, connection_id)) for connection_id in connections]
    await batch.run()
    reset = [p for p, slot in before if slot.value.state != "closed" or slot.value.failures > 0]
    return reset, [connection_id for connection_id, slot in cleared if slot.value > 0]


@post("/api/resilience/reset", status_code=200, tags=["resilience"])
async def reset_resilience(request: Request[Any, Any, Any], data: JSONBody[ResetRequest | None] = None) -> ResetAnswer:
    """Reset breakers and cooldowns: all (no body or `{}`), one provider's, or one connection's."""
    body = data or ResetRequest()
    if body.provider is not None and body.connection_id is not None:
        raise InvalidField("connectionId", "give either provider or connectionId, not both")
    state = control_state(request)
    scope, names, connections = await _targets(state, body)
    async with state.pool.acquire() as conn, conn.transaction():
        # Redis first, then the audit row with what was actually cleared: if Redis fails nothing is
        # recorded (the error propagates and the transaction rolls back).
        with fleet_state():
            breakers, cooldowns = await _clear(state.redis, names, connections)
        answer = ResetAnswer(
            scope=scope,
            provider=names[0] if scope == "provider" else None,
            connection_id=connections[0] if scope == "connection" else None,
            breakers=breakers,
            cooldowns=cooldowns,
        )
        target = answer.provider or answer.connection_id or "all"
        await audit.record(
            conn, actor_of(request), "resilience.reset", "resilience", target, None, msgspec.to_builtins(answer)
        )
    return answer
