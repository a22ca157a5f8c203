"""cancel_and_wait ends a task even when a library swallowed its first cancellation."""

from __future__ import annotations

import asyncio

from shared.background import cancel_and_wait


async def test_a_loop_that_swallows_one_cancellation_still_ends() -> None:
    swallowed = 0

    async def loop_like_redis_io() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed == 0:  # what redis-py's timeout race does: the result wins, the cancel is lost
                    swallowed += 1
                    asyncio.current_task().uncancel()  # type: ignore[union-attr]
                    continue
                raise

    task = asyncio.create_task(loop_like_redis_io())
    await asyncio.sleep(0.02)
    await asyncio.wait_for(cancel_and_wait(task, recheck_seconds=0.01), timeout=2)
    assert task.cancelled() and swallowed == 1


async def test_finished_and_failing_tasks_are_fine() -> None:
    async def fails() -> None:
        raise asyncio.CancelledError

    done = asyncio.create_task(asyncio.sleep(0))
    await done
    await cancel_and_wait(done, asyncio.create_task(fails()))
