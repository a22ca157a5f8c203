"""One Redis round trip for many primitives: each primitive queues its call into a batch.

A request's admission (limits, breakers, cooldowns, sessions) and its settlement each cost one
round trip however many primitives take part: every primitive method takes a `Batch`, queues its
(Lua) call and returns a `Slot`; `await batch.run()` sends one pipeline and fills every slot. The
in-memory twin (`MemoryBatch`) runs each call at once against a `MemoryStore`, so the same
primitive code paths are unit-tested without Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

__all__ = ["Batch", "MemoryBatch", "MemoryStore", "RedisBatch", "Slot"]

T = TypeVar("T")


class Slot(Generic[T]):
    """The value a queued call produces, available after the batch has run."""

    __slots__ = ("_filled", "_value")

    def __init__(self) -> None:
        self._filled = False
        self._value: T | None = None

    def fill(self, value: T) -> None:
        self._value, self._filled = value, True

    @property
    def value(self) -> T:
        if not self._filled:
            raise RuntimeError("the batch has not run yet")
        return self._value  # type: ignore[return-value]


class Batch(Protocol):
    def call(
        self, redis_call: Callable[[Any], Any], memory_call: Callable[[MemoryStore], Any], read: Callable[[Any], T]
    ) -> Slot[T]:
        """Queue one call: `redis_call(pipeline)` for Redis, `memory_call(store)` for the twin.

        `read` turns the raw reply (Redis's, or the twin's, which must look the same) into the value.
        """
        ...

    async def run(self) -> None: ...


class RedisBatch:
    """Queues calls on one non-transactional pipeline; `run` is exactly one round trip.

    redis-py would check every queued script with SCRIPT EXISTS before each pipeline (a second
    round trip on every batch); instead the pipeline runs EVALSHA at once, and only when Redis has
    lost its script cache (restart, SCRIPT FLUSH) are the scripts loaded and the calls that
    answered NOSCRIPT, which did not run, sent again.
    """

    __slots__ = ("_pending", "_pipe", "_redis", "_round_trips")

    def __init__(self, redis: Redis, round_trips: Callable[[], None] | None = None) -> None:
        self._redis = redis
        self._pipe = redis.pipeline(transaction=False)
        self._pending: list[tuple[Slot[Any], Callable[[Any], Any]]] = []
        self._round_trips = round_trips

    def call(
        self, redis_call: Callable[[Any], Any], memory_call: Callable[[MemoryStore], Any], read: Callable[[Any], T]
    ) -> Slot[T]:
        slot: Slot[T] = Slot()
        redis_call(self._pipe)
        self._pending.append((slot, read))
        return slot

    async def run(self) -> None:
        if not self._pending:
            return
        if self._round_trips is not None:
            self._round_trips()
        scripts, self._pipe.scripts = self._pipe.scripts, set()
        commands = list(self._pipe.command_stack)
        replies = await self._pipe.execute(raise_on_error=False)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            replies = await self._reload_and_resend(scripts, commands, replies, missing)
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        for (slot, read), reply in zip(self._pending, replies, strict=True):
            slot.fill(read(reply))
        self._pending.clear()

    async def _reload_and_resend(
        self, scripts: set[Any], commands: list[Any], replies: list[Any], missing: list[int]
    ) -> list[Any]:
        if self._round_trips is not None:
            self._round_trips()
        retry = self._redis.pipeline(transaction=False)
        retry.scripts = scripts  # this time the pipeline checks and loads them first
        for i in missing:
            args, options = commands[i]
            retry.execute_command(*args, **options)
        resent = await retry.execute(raise_on_error=False)
        replies = list(replies)
        for i, reply in zip(missing, resent, strict=True):
            replies[i] = reply
        return replies


@dataclass
class MemoryStore:
    """The twin's whole state: plain dicts plus a clock the tests can move."""

    now_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    data: dict[str, Any] = field(default_factory=dict)
    expires: dict[str, int] = field(default_factory=dict)  # key -> epoch ms

    def get(self, key: str) -> Any:
        deadline = self.expires.get(key)
        if deadline is not None and deadline <= self.now_ms():
            self.data.pop(key, None)
            self.expires.pop(key, None)
        return self.data.get(key)

    def set(self, key: str, value: Any, ttl_ms: int | None = None) -> None:
        self.data[key] = value
        if ttl_ms is None:
            self.expires.pop(key, None)
        else:
            self.expires[key] = self.now_ms() + ttl_ms

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
        self.expires.pop(key, None)

    def ttl_ms(self, key: str) -> int:
        """Like PTTL: -2 when absent, -1 without expiry."""
        if self.get(key) is None:
            return -2
        deadline = self.expires.get(key)
        return -1 if deadline is None else deadline - self.now_ms()


class MemoryBatch:
    """The twin: each call runs at once against the store; `run` has nothing left to do."""

    __slots__ = ("store",)

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def call(
        self, redis_call: Callable[[Any], Any], memory_call: Callable[[MemoryStore], Any], read: Callable[[Any], T]
    ) -> Slot[T]:
        slot: Slot[T] = Slot()
        slot.fill(read(memory_call(self.store)))
        return slot

    async def run(self) -> None:
        return None
