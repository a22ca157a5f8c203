"""Helpers the shared-state primitives have in common: registered Lua scripts, server time, replies.

A primitive queues each operation with `batch.call(redis_call, memory_call, read)`. `Lua.call`
builds the `redis_call` for a registered script: it queues EVALSHA and registers the script with
the pipeline, so the pipeline loads a script Redis does not know yet (after a restart) before
running it. (It does by hand what `AsyncScript.__call__(client=pipe)` does, because that method is
a coroutine and `Batch.call` queues synchronously.)
Every script starts with `NOW_MS`, so the clock is Redis's, never the edge's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from shared.kv.batch import MemoryStore

__all__ = ["NOW_MS", "Lua", "as_int", "as_text", "delete"]

# Redis server time in epoch milliseconds (integer) as the Lua local `now`.
NOW_MS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""


class Lua:
    """One script registered on a client; without a client only the twin can be used."""

    __slots__ = ("_script",)

    def __init__(self, redis: Redis | None, source: str) -> None:
        self._script = redis.register_script(source) if redis is not None else None

    def call(self, keys: Sequence[str], args: Sequence[Any]) -> Callable[[Any], Any]:
        script = self._script

        def queue(pipe: Any) -> Any:
            if script is None:
                raise RuntimeError("this primitive was built without a Redis client; use a MemoryBatch")
            pipe.scripts.add(script)
            return pipe.evalsha(script.sha, len(keys), *keys, *args)

        return queue


def as_text(raw: Any) -> str:
    """A bulk-string reply as text, whether the client decodes responses or not."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def as_int(raw: Any) -> int:
    return int(raw) if raw is not None else 0


def delete(store: MemoryStore, *names: str) -> int:
    """The twin of DEL: how many of the keys existed."""
    existed = sum(store.get(name) is not None for name in names)
    for name in names:
        store.delete(name)
    return existed
