"""Edge replica presence: who is serving, on which host, with which config snapshot.

Each edge process announces a small record every few seconds (and at once when its snapshot
changes); the control plane lists the replicas seen recently. This is off the request path, so
unlike the hot-path primitives there is no pipelined batch and no in-memory twin: each call is one
short script or command, and callers treat a Redis error as "no news" (an edge keeps serving).

Times come from Redis's clock (the scripts read TIME), so replicas on hosts with skewed clocks
still sort correctly.
"""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.scripting import NOW_MS, as_text

__all__ = ["Presence", "ReplicaRecord", "SeenReplica"]


class ReplicaRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a replica says about itself (stored as JSON; Redis adds when it was last seen)."""

    id: str
    service: str  # "edge"
    host: str
    pid: int
    port: int | None
    version: int  # the config snapshot version it serves (0: none loaded yet)
    started_at_ms: int  # epoch ms, the replica's own clock


class SeenReplica(msgspec.Struct, frozen=True, kw_only=True):
    record: ReplicaRecord
    last_seen_ms: int  # Redis clock, epoch ms
    age_ms: int  # how long ago, by Redis's clock


# KEYS: set, record. ARGV: id, record json, ttl ms. Returns Redis's now.
_ANNOUNCE = (
    NOW_MS
    + """
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return now
"""
)

# KEYS: set. ARGV: max age ms. Returns {now, id1, score1, id2, score2, ...}.
_SEEN = (
    NOW_MS
    + """
local found = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
table.insert(found, 1, now)
return found
"""
)

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ReplicaRecord)


class Presence:
    """The presence calls on one client; the scripts are registered once."""

    __slots__ = ("_announce", "_redis", "_seen")

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._announce: Any = redis.register_script(_ANNOUNCE)
        self._seen: Any = redis.register_script(_SEEN)

    async def announce(self, record: ReplicaRecord, ttl_ms: int = keys.EDGE_REPLICA_TTL_MS) -> int:
        """Store the record and mark the replica seen now; returns Redis's clock (epoch ms)."""
        now = await self._announce(
            keys=[keys.EDGE_REPLICAS, keys.edge_replica(record.id)],
            args=[record.id, _ENCODER.encode(record), ttl_ms],
        )
        return int(now)

    async def withdraw(self, replica_id: str) -> None:
        """A replica stopping cleanly removes itself at once instead of ageing out."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.EDGE_REPLICAS, replica_id)
            pipe.delete(keys.edge_replica(replica_id))
            await pipe.execute()

    async def seen(self, within_ms: int = keys.EDGE_REPLICA_TTL_MS) -> list[SeenReplica]:
        """Replicas seen within `within_ms`, most recently seen first; records that lapsed are skipped."""
        reply = await self._seen(keys=[keys.EDGE_REPLICAS], args=[within_ms])
        now = int(reply[0])
        pairs = reply[1:]
        ids = [as_text(pairs[i]) for i in range(0, len(pairs), 2)]
        scores = [int(float(as_text(pairs[i]))) for i in range(1, len(pairs), 2)]
        if not ids:
            return []
        blobs = await self._redis.mget([keys.edge_replica(replica_id) for replica_id in ids])
        seen: list[SeenReplica] = []
        for blob, score in zip(blobs, scores, strict=True):
            if blob is None:
                continue
            try:
                record = _DECODER.decode(blob)
            except msgspec.DecodeError:
                continue  # a record written by some other version; it ages out
            seen.append(SeenReplica(record=record, last_seen_ms=score, age_ms=max(now - score, 0)))
        seen.sort(key=lambda replica: replica.age_ms)
        return seen
