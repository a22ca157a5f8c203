"""The worker process: arq jobs plus the usage stream consumer and the ops endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.asyncio import Redis

from services.workers.db import create_pool
from services.workers.jobs.usage_lag import report_usage_lag
from services.workers.ops_server import start_ops_server
from services.workers.usage_ingest import UsageIngestor
from shared import jsonx
from shared.logs import configure_logging
from shared.settings import Settings, load_settings

__all__ = ["build_worker", "run"]


def _startup(settings: Settings) -> Any:
    async def on_startup(ctx: dict[str, Any]) -> None:
        pool = await create_pool(settings.database_url, min_size=1, max_size=4)
        redis = Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=3)
        consumer = f"{socket.gethostname()}-{os.getpid()}"
        ingestor = UsageIngestor(pool, redis, consumer, claim_idle_ms=settings.usage_claim_idle_ms)
        ctx.update(
            pool=pool,
            usage_redis=redis,
            usage_ingestor=ingestor,
            usage_task=asyncio.create_task(ingestor.run()),
            ops=await start_ops_server(settings.host, settings.worker_port, pool, redis),
        )

    return on_startup


async def on_shutdown(ctx: dict[str, Any]) -> None:
    task = ctx.get("usage_task")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if "ops" in ctx:
        await ctx["ops"].cleanup()
    if "usage_redis" in ctx:
        await ctx["usage_redis"].aclose()
    if "pool" in ctx:
        await ctx["pool"].close()


def build_worker(settings: Settings) -> Worker:
    return Worker(
        functions=[],
        cron_jobs=[cron(report_usage_lag, second={0, 10, 20, 30, 40, 50}, run_at_startup=True, timeout=30)],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        on_startup=_startup(settings),
        on_shutdown=on_shutdown,
        job_serializer=jsonx.dumps,
        job_deserializer=jsonx.loads,
        handle_signals=True,
        max_tries=5,
        job_timeout=300,
        keep_result=3600,
    )


def run(settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    configure_logging("worker", settings.log_level)
    build_worker(settings).run()
