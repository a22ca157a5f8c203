"""The worker's /metrics, /healthz and /readyz on OMNIROUTE_WORKER_PORT (default 20130)."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from shared import metrics

__all__ = ["start_ops_server"]

_POOL = web.AppKey("pool", asyncpg.Pool)
_REDIS = web.AppKey("redis", Redis)


async def _metrics(_: web.Request) -> web.Response:
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    checks = {"postgres": False, "redis": False}
    try:
        async with asyncio.timeout(2):
            checks["postgres"] = await request.app[_POOL].fetchval("SELECT 1") == 1
    except Exception:
        checks["postgres"] = False
    try:
        async with asyncio.timeout(2):
            checks["redis"] = bool(await request.app[_REDIS].ping())
    except Exception:
        checks["redis"] = False
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
    )


async def start_ops_server(host: str, port: int, pool: asyncpg.Pool, redis: Redis) -> web.AppRunner:
    app = web.Application()
    app[_POOL] = pool
    app[_REDIS] = redis
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
