"""Stopping background tasks for certain.

A task doing Redis I/O can swallow its cancellation on Python 3.11: redis-py's asyncio timeout
returns a result that completed at the same moment as the cancel, and a loop such as a snapshot
backstop or a usage sink would then sleep and run on, so shutdown would hang. Measured: 8 of 300
cancellations of a plain GET were swallowed. Cancel again until each task has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Task[Any], recheck_seconds: float = 0.1) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        while not task.done():
            await asyncio.wait([task], timeout=recheck_seconds)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
