"""Which upstream HTTP client costs the edge less CPU: aiohttp or httpx (docs/decisions/0001).

Run: `.venv/bin/python -m bench.client_choice`. Starts the fake upstream pinned to the last CPU,
pins itself to CPU 0, and drives the same POST with each client at concurrency 1, 16 and 64.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import uvloop

BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello to the benchmark please"}]}'
HEADERS = {"content-type": "application/json"}
REQUESTS = 3000
WARMUP = 200

Send = Callable[[], Awaitable[None]]


async def _drive(send: Send, concurrency: int) -> tuple[float, float]:
    for _ in range(WARMUP):
        await send()
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await send()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return REQUESTS / (time.perf_counter() - wall), (time.process_time() - cpu) / REQUESTS * 1e6


async def with_aiohttp(url: str, concurrency: int) -> tuple[float, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def send() -> None:
            async with session.post(url, data=BODY, headers=HEADERS) as response:
                await response.read()

        return await _drive(send, concurrency)


async def with_httpx(url: str, concurrency: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=1000)
    async with httpx.AsyncClient(limits=limits) as client:

        async def send() -> None:
            response = await client.post(url, content=BODY, headers=HEADERS)
            response.read()

        return await _drive(send, concurrency)


def main() -> None:
    port = 20999
    upstream = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "fake-upstream", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        os.sched_setaffinity(upstream.pid, {cpus[-1]})
        os.sched_setaffinity(0, {cpus[0]})
    try:
        time.sleep(2)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        print("| client | concurrency | requests/s | client CPU per request |\n|---|---|---|---|")
        for concurrency in (1, 16, 64):
            for name, run in (("aiohttp", with_aiohttp), ("httpx", with_httpx)):
                results = [uvloop.run(run(url, concurrency)) for _ in range(3)]
                rate = statistics.median(r[0] for r in results)
                cpu = statistics.median(r[1] for r in results)
                print(f"| {name} | {concurrency} | {rate:,.0f} | {cpu:.0f} µs |", flush=True)
    finally:
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    main()
