"""Requests that talk to Redis in the same event-loop turn share one pipeline.

Each caller still makes exactly one round trip from its own point of view, but under load the
process sends one pipeline for all the callers of a turn instead of one each: the client's
per-pipeline cost (connection checkout, write, wake-ups, parsing setup) is paid once. The first
caller of a turn opens a batch and schedules its sending for the next turn; every caller of the
same turn queues into it and waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from redis.asyncio import Redis

from shared.kv.batch import Batch, RedisBatch

__all__ = ["Coalescer"]

R = TypeVar("R")


def _retrieved(done: asyncio.Future[None]) -> None:
    """Mark a failure as seen even when every waiter was cancelled (no 'never retrieved' noise)."""
    if not done.cancelled():
        done.exception()


class Coalescer:
    __slots__ = ("_open", "_redis", "_sending")

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._open: tuple[RedisBatch, asyncio.Future[None]] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, queue: Callable[[Batch], R]) -> R:
        """Queue into this turn's batch and wait until it has been sent and answered.

        Raises what the batch raised (a RedisError for every caller of that turn).
        """
        if self._open is None:
            loop = asyncio.get_running_loop()
            done: asyncio.Future[None] = loop.create_future()
            done.add_done_callback(_retrieved)
            batch = RedisBatch(self._redis)
            self._open = (batch, done)
            loop.call_soon(self._send, batch, done)
        batch, done = self._open
        queued = queue(batch)
        await asyncio.shield(done)  # one caller going away must not cancel the others' round trip
        return queued

    def _send(self, batch: RedisBatch, done: asyncio.Future[None]) -> None:
        self._open = None  # callers from now on start the next batch
        task = asyncio.get_running_loop().create_task(self._execute(batch, done))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    @staticmethod
    async def _execute(batch: RedisBatch, done: asyncio.Future[None]) -> None:
        try:
            await batch.run()
        except asyncio.CancelledError:
            done.cancel()  # the process is shutting down
            raise
        except Exception as exc:
            done.set_exception(exc)  # every waiter of the turn sees it
        else:
            done.set_result(None)
