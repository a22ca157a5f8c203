"""Publishing and reading versioned config snapshots through Redis.

Publication is one Lua script: store the blob only if its version is newer than the current one,
then announce the version on a pub/sub channel. Two control-plane replicas publishing out of
order therefore never move edges backwards.
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared.kv import keys

__all__ = ["ConfigChannel", "StoredSnapshot"]

_PUBLISH_IF_NEWER = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local offered = tonumber(ARGV[1])
if offered <= current then
  return current
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'blob', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return offered
"""


class StoredSnapshot:
    __slots__ = ("blob", "version")

    def __init__(self, version: int, blob: bytes) -> None:
        self.version = version
        self.blob = blob


class ConfigChannel:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._publish = redis.register_script(_PUBLISH_IF_NEWER)

    async def publish(self, version: int, blob: bytes) -> int:
        """Store and announce; returns the version now current in Redis."""
        result = await self._publish(keys=[keys.CONFIG_CURRENT], args=[version, blob, keys.CONFIG_ANNOUNCE_CHANNEL])
        return int(result)

    async def current_version(self) -> int:
        raw = await self._redis.hget(keys.CONFIG_CURRENT, "version")  # type: ignore[misc]
        return int(raw) if raw is not None else 0

    async def load(self) -> StoredSnapshot | None:
        version, blob = await self._redis.hmget(keys.CONFIG_CURRENT, ["version", "blob"])  # type: ignore[misc]
        if version is None or blob is None:
            return None
        return StoredSnapshot(int(version), bytes(blob))
