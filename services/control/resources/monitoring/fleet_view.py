"""What Redis says about the fleet: breakers, cooling connections, the published config version, edges."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import RedisBatch
from shared.kv.breaker import Breaker, BreakerView, providers
from shared.kv.config_channel import ConfigChannel
from shared.kv.cooldown import CooldownView, read_all
from shared.kv.presence import Presence, SeenReplica

__all__ = ["FleetView", "read_fleet"]


@dataclass(frozen=True, slots=True)
class FleetView:
    breakers: dict[str, BreakerView]  # every provider asked for, plus every one holding state
    cooldowns: list[CooldownView]
    config_version: int  # the snapshot version published in Redis (0: none yet)
    replicas: list[SeenReplica]  # edges seen within EDGE_REPLICA_TTL_MS, most recent first


async def read_fleet(redis: Redis, wanted: frozenset[str]) -> FleetView:
    """Breaker views for `wanted` (configured providers) and for every provider with breaker state."""
    names = sorted(wanted.union(await providers(redis)))
    breaker = Breaker(redis)
    batch = RedisBatch(redis)
    slots = [(name, breaker.read(batch, name)) for name in names]
    await batch.run()
    cooldowns = await read_all(redis)
    version = await ConfigChannel(redis).current_version()
    replicas = await Presence(redis).seen(keys.EDGE_REPLICA_TTL_MS)
    return FleetView(
        breakers={name: slot.value for name, slot in slots},
        cooldowns=cooldowns,
        config_version=version,
        replicas=replicas,
    )
