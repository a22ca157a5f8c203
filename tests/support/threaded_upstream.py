"""The fake upstream on a real socket in a background thread with its own event loop.

Litestar's test clients drive the app through a blocking portal, so an upstream served from the
test's own event loop would never get to answer; a separate thread does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from services.fake_upstream.app import create_app
from tests.support.env import free_port


@contextmanager
def threaded_fake_upstream() -> Iterator[str]:
    """Yield the base URL (`http://127.0.0.1:PORT`) of a running fake upstream."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(create_app(), access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
