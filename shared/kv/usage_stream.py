"""The usage event log: edges append one event per request, workers consume with a group.

Delivery is at-least-once (a crashed consumer's pending entries are claimed by another after an
idle time); the worker's insert is idempotent on `request_id`, which makes counting exactly-once.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.kv import keys

__all__ = ["StreamEntry", "StreamLag", "UsageEvent", "UsageStream"]


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    ts: float  # epoch seconds when the request arrived
    endpoint: str
    status: int
    api_key_id: str | None = None
    provider: str | None = None
    connection_id: str | None = None
    model: str | None = None
    requested_model: str | None = None
    stream: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    tokens_reasoning: int = 0
    cost_micros: int = 0
    latency_ms: float = 0.0
    ttfb_ms: float | None = None
    cache: str | None = None
    fallback_attempts: int = 0
    error_code: str | None = None


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(UsageEvent)


class StreamEntry(msgspec.Struct, frozen=True):
    entry_id: str
    event: UsageEvent | None  # None when the entry could not be decoded (poison)
    raw: bytes | None = None  # kept only for poison entries, for the dead-letter stream


class StreamLag(msgspec.Struct, frozen=True):
    backlog: int  # entries not yet stored (stored ones are deleted)
    pending: int  # read by a consumer, not yet acknowledged
    oldest_age_seconds: float  # age of the oldest entry not yet stored (0 when none)


def _decode(entry_id: bytes | str, fields: dict[bytes, bytes]) -> StreamEntry:
    ident = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    raw = fields.get(b"e")
    if raw is None:
        return StreamEntry(ident, None, b"")
    try:
        return StreamEntry(ident, _DECODER.decode(raw))
    except msgspec.DecodeError:
        return StreamEntry(ident, None, raw)


class UsageStream:
    def __init__(self, redis: Redis, stream: str = keys.USAGE_STREAM, group: str = keys.USAGE_GROUP) -> None:
        self._redis = redis
        self.stream = stream
        self.group = group

    async def append(self, events: Sequence[UsageEvent], marker: str | None = None) -> bool:
        """Append a batch in one round trip.

        With `marker`, the same round trip also refreshes that key and the answer says whether it was
        still there: False means Redis lost its data since the previous call with this marker.
        """
        if not events and marker is None:
            return True
        pipe = self._redis.pipeline(transaction=False)
        if marker is not None:
            pipe.set(marker, b"1", ex=keys.USAGE_SINK_MARKER_TTL_SECONDS, get=True)
        for event in events:
            pipe.xadd(self.stream, {"e": _ENCODER.encode(event)})
        replies = await pipe.execute()
        return marker is None or replies[0] is not None

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_new(self, consumer: str, count: int, block_ms: int) -> list[StreamEntry]:
        try:
            reply = await self._redis.xreadgroup(self.group, consumer, {self.stream: ">"}, count=count, block=block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (restart without persistence): recreate and carry on.
            await self.ensure_group()
            return []
        entries: list[StreamEntry] = []
        for _stream, items in reply or []:
            entries.extend(_decode(entry_id, fields) for entry_id, fields in items)
        return entries

    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[StreamEntry]:
        """Take over entries another consumer read but never acknowledged."""
        try:
            reply = await self._redis.xautoclaim(
                self.stream, self.group, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        items = reply[1] if reply else []
        return [_decode(entry_id, fields) for entry_id, fields in items if fields is not None]

    async def acknowledge(self, entry_ids: Sequence[str]) -> None:
        """Acknowledge and delete, so the stream holds only what is not yet stored."""
        if not entry_ids:
            return
        pipe = self._redis.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, *entry_ids)
        pipe.xdel(self.stream, *entry_ids)
        await pipe.execute()

    async def backlog(self) -> int:
        return int(await self._redis.xlen(self.stream))

    async def lag(self) -> StreamLag:
        """Backlog, pending count and the oldest entry's age (entry ids are Redis server milliseconds)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.xlen(self.stream)
        pipe.xrange(self.stream, count=1)
        pipe.time()
        pipe.xpending(self.stream, self.group)
        backlog, first, (seconds, micros), pending = await pipe.execute(raise_on_error=False)
        if isinstance(pending, ResponseError):  # no stream or no group yet: nothing is pending
            pending = {"pending": 0}
        age = 0.0
        if first:
            raw_id = first[0][0]
            millis = int((raw_id.decode() if isinstance(raw_id, bytes) else raw_id).split("-")[0])
            age = max(0.0, seconds + micros / 1_000_000 - millis / 1000)
        return StreamLag(int(backlog), int(pending["pending"]), round(age, 3))
