"""Load shapes: closed loop (N callers back to back) and open loop (a fixed schedule of sends).

Closed loop: each of N workers sends its next request as soon as the previous one answered.
Open loop: request i is due at t0 + i / rate whatever happened before; its latency runs from that
scheduled time, so a stalled server is charged for the requests it made wait (no coordinated
omission). Both: a warm-up, then a measured window; throughput = answers completed in the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from time import perf_counter

from bench.client import Outcome

__all__ = ["Call", "Run", "Sample", "closed_loop", "gc_paused", "open_loop"]

Call = Callable[[], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Sample:
    start: float  # when the request was sent (closed loop) or due (open loop)
    sent: float  # when it was actually sent
    end: float
    outcome: Outcome


@dataclass(slots=True)
class Run:
    window_start: float
    window_end: float
    samples: list[Sample] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.window_end - self.window_start

    def measured(self) -> list[Sample]:
        """Requests started (or due) inside the measured window."""
        return [s for s in self.samples if self.window_start <= s.start < self.window_end]

    def completed_in_window(self) -> int:
        return sum(1 for s in self.samples if self.window_start <= s.end <= self.window_end and not s.outcome.error)

    def throughput(self) -> float:
        return self.completed_in_window() / self.duration


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC in the load generator while it measures (a full collection over the samples
    gathered so far would stall every in-flight request); collect between runs instead."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()


async def closed_loop(call: Call, concurrency: int, warmup: float, duration: float, stagger: float = 0.0) -> Run:
    """`stagger`: worker i starts i·stagger/concurrency late, so equally long streams do not move in lockstep."""
    begin = perf_counter()
    run = Run(begin + warmup, begin + warmup + duration)

    async def worker(index: int) -> None:
        await asyncio.sleep(index * stagger / concurrency)
        while True:
            start = perf_counter()
            if start >= run.window_end:
                return
            outcome = await call()
            run.samples.append(Sample(start, start, perf_counter(), outcome))

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return run


async def open_loop(call: Call, rate: float, warmup: float, duration: float) -> Run:
    begin = perf_counter() + 0.01
    run = Run(begin + warmup, begin + warmup + duration)
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        sent = perf_counter()
        outcome = await call()
        run.samples.append(Sample(due, sent, perf_counter(), outcome))

    total = round((warmup + duration) * rate)
    for index in range(total):
        due = begin + index / rate
        delay = due - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    return run
