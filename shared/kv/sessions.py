"""Session affinity: a conversation stays on the connection it started on, whichever edge serves it.

A session key (built by the caller, e.g. from the API key and a conversation id; pass a digest when
it could carry anything sensitive) maps to the pinned connection id. Each read slides the TTL, so
an active conversation keeps its pin and an idle one is forgotten after `ttl_ms`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import as_text, delete

__all__ = ["SessionView", "Sessions", "list_sessions"]


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    session: str
    connection_id: str
    ttl_ms: int


def _get_twin(store: MemoryStore, key: str, ttl_ms: int) -> Any:
    pinned = store.get(key)
    if pinned is not None:
        store.set(key, pinned, ttl_ms)
    return pinned


def _pin_twin(store: MemoryStore, key: str, connection_id: str, ttl_ms: int) -> bool:
    store.set(key, connection_id.encode(), ttl_ms)
    return True


def _pinned(raw: Any) -> str | None:
    return None if raw is None else as_text(raw)


def _none(raw: Any) -> None:
    return None


class Sessions:
    """Each operation is one Redis command (GETEX slides the TTL atomically), so no script is needed."""

    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis

    def get(self, batch: Batch, session_key: str, ttl_ms: int) -> Slot[str | None]:
        """The pinned connection id, its TTL refreshed; None when the session is unknown or expired."""
        key = keys.session(session_key)
        return batch.call(lambda pipe: pipe.getex(key, px=ttl_ms), lambda s: _get_twin(s, key, ttl_ms), _pinned)

    def pin(self, batch: Batch, session_key: str, connection_id: str, ttl_ms: int) -> Slot[None]:
        key = keys.session(session_key)
        return batch.call(
            lambda pipe: pipe.set(key, connection_id, px=ttl_ms),
            lambda s: _pin_twin(s, key, connection_id, ttl_ms),
            _none,
        )

    def forget(self, batch: Batch, session_key: str) -> Slot[None]:
        key = keys.session(session_key)
        return batch.call(lambda pipe: pipe.delete(key), lambda s: delete(s, key), _none)


async def list_sessions(redis: Redis, limit: int) -> list[SessionView]:
    """Up to `limit` live sessions (SCAN order), for the management API."""
    found: list[str] = []
    async for raw in redis.scan_iter(match=keys.SESSION_PREFIX + "*", count=500):
        found.append(as_text(raw))
        if len(found) >= limit:
            break
    if not found:
        return []
    pipe = redis.pipeline(transaction=False)
    for key in found:
        pipe.get(key)
        pipe.pttl(key)
    replies = await pipe.execute()
    views = []
    for i, key in enumerate(found):
        pinned, ttl = replies[2 * i], int(replies[2 * i + 1])
        if pinned is not None and ttl > 0:
            views.append(
                SessionView(session=key[len(keys.SESSION_PREFIX) :], connection_id=as_text(pinned), ttl_ms=ttl)
            )
    return views
