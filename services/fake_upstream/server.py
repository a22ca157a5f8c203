"""Running the fake upstream: one process, or several sharing the port (SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import socket

from aiohttp import web

from services.fake_upstream.app import create_app

__all__ = ["serve"]


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _run_one(host: str, port: int) -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    web.run_app(create_app(), sock=_bind(host, port), access_log=None, print=None, handle_signals=True)


def serve(host: str, port: int, workers: int = 1) -> None:
    if workers <= 1:
        _run_one(host, port)
        return
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_run_one, args=(host, port), daemon=True) for _ in range(workers)]
    for child in children:
        child.start()

    def stop(*_: object) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()
