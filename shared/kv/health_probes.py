"""Provider health probe results in Redis: one JSON value per connection, expiring after a few rounds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec
from redis.asyncio import Redis

from shared.kv import keys

__all__ = ["ProbeRecord", "read_probes", "write_probes"]

ProbeStatus = Literal["up", "down"]
ProbeMethod = Literal["models", "chat", "none"]


class ProbeRecord(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    connection_id: str
    provider: str
    name: str
    status: ProbeStatus
    method: ProbeMethod  # the model list, a one-message chat, or nothing (no URL to call)
    latency_ms: float | None
    checked_at_ms: int  # epoch milliseconds
    http_status: int | None = None
    error_code: str | None = None  # the gateway's error code; never a message an upstream wrote


_DECODER = msgspec.json.Decoder(ProbeRecord)


async def write_probes(redis: Redis, records: Iterable[ProbeRecord]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for record in records:
            pipe.set(keys.health_probe(record.connection_id), msgspec.json.encode(record), px=keys.HEALTH_PROBE_TTL_MS)
        await pipe.execute()


async def read_probes(redis: Redis, connection_ids: Iterable[str]) -> list[ProbeRecord]:
    """The results still held for these connections (missing or unreadable ones are left out)."""
    ids = list(connection_ids)
    if not ids:
        return []
    raws = await redis.mget([keys.health_probe(ident) for ident in ids])
    found = []
    for raw in raws:
        if raw is None:
            continue
        try:
            found.append(_DECODER.decode(raw))
        except msgspec.ValidationError:
            continue
    return found
