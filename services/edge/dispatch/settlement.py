"""Settlement: what a request still owes the fleet once it has been answered, in one round trip.

Queued while the request runs, sent after the answer (in the background for JSON, after the last
byte for streams): breaker success for a provider that had counted failures, the session's pin,
token charges corrected from the estimate to the real usage, the connection's concurrency seat,
use counts and latencies for the strategies that read them, the idempotent answer. The request's
Redis round trips are observed here, so the metric holds the request's whole count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from services.edge.dispatch.fleet import Fleet, Trips
from shared.config.limits import NamedLimit
from shared.kv.batch import Batch

__all__ = ["Settlement"]

log = logging.getLogger(__name__)

Op = Callable[[Batch, bool], Any]

_background: set[asyncio.Task[None]] = set()  # strong references until each task is done


class Settlement:
    __slots__ = ("_done", "_fleet", "_ops", "_route", "trips")

    def __init__(self, fleet: Fleet, route: str) -> None:
        self._fleet = fleet
        self._route = route
        self._ops: list[Op] = []
        self._done = False
        self.trips = Trips()

    def add(self, op: Op) -> None:
        self._ops.append(op)

    def charge_tokens(self, limits: Sequence[NamedLimit], estimated: int, actual: int) -> None:
        """Correct token limits consumed with the estimate at admission to the tokens really used."""
        difference = actual - estimated
        if difference == 0:
            return
        for limit in limits:
            if limit.unit == "tokens":
                self.add(partial(self._charge, limit, difference))

    def refund_limits(self, limits: Sequence[NamedLimit], estimated: int) -> None:
        """Give back what admission consumed for a request refused afterwards (by its budget)."""
        for limit in limits:
            cost = 1 if limit.unit == "requests" else estimated
            if cost:
                self.add(partial(self._charge, limit, -cost))

    def _charge(self, limit: NamedLimit, cost: int, batch: Batch, _: bool) -> object:
        return self._fleet.limiter.charge(batch, limit.name, limit.rate, cost)

    async def run(self) -> None:
        """Send everything queued (one round trip, or none) and observe the request's round trips."""
        if self._done:
            return
        self._done = True
        ops, self._ops = self._ops, []
        try:
            if ops:
                await self._fleet.run(lambda batch, local: [op(batch, local) for op in ops], self.trips, "settlement")
        except Exception:
            log.exception("settlement failed")  # shared state drifts a little; the answer stands
        finally:
            self.trips.observe(self._route)

    def run_in_background(self) -> None:
        if not self._ops:  # nothing owed: no task, just the count
            if not self._done:
                self._done = True
                self.trips.observe(self._route)
            return
        task = asyncio.get_running_loop().create_task(self.run())
        _background.add(task)
        task.add_done_callback(_background.discard)
