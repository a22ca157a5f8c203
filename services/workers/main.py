"""The worker process: the usage stream consumer, arq jobs, and the ops endpoints.

The process owns its long-lived parts (Postgres pool, usage consumer, ops server); the arq
worker runs inside it as one component that is rebuilt whenever Redis drops out (arq itself exits
on a lost connection), so a Redis restart never takes the worker process down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Any

import aiohttp
from arq import cron, func
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.outbound.fetch import post_form
from services.workers.db import create_pool
from services.workers.evals.edge_client import EdgeClient
from services.workers.evals.runtime import EvalsRuntime
from services.workers.jobs.audit_retention import prune_audit_log
from services.workers.jobs.budget_reconcile import reconcile_budgets
from services.workers.jobs.health_probes import PROBE_DEPS, ProbeDeps, probe_connections
from services.workers.jobs.measured import measured
from services.workers.jobs.oauth_refresh import REFRESH_DEPS, refresh_oauth_tokens
from services.workers.jobs.resume_evals import resume_eval_runs
from services.workers.jobs.run_eval import MAX_TRIES, run_eval
from services.workers.jobs.scheduled_backup import scheduled_backup
from services.workers.jobs.usage_lag import report_usage_lag
from services.workers.jobs.usage_retention import prune_usage
from services.workers.ops_server import start_ops_server
from services.workers.usage_ingest import UsageIngestor
from shared import jsonx, metrics
from shared.background import cancel_and_wait
from shared.config.snapshot import SnapshotCodec
from shared.crypto import FieldCipher
from shared.evals.jobs import KEY_PURPOSE, RUN_EVAL_JOB
from shared.logs import configure_logging
from shared.oauth.refresh import RefreshDeps
from shared.settings import Settings, load_settings

__all__ = ["build_arq_worker", "maintenance_deps", "run", "serve"]

log = logging.getLogger(__name__)

_ARQ_RESTART_SECONDS = 1.0


def build_arq_worker(settings: Settings, ctx: dict[str, Any]) -> Worker:
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    redis_settings.conn_retries = 0  # our loop owns reconnection
    return Worker(
        functions=[func(measured(run_eval), name=RUN_EVAL_JOB, timeout=3600, max_tries=MAX_TRIES)],
        cron_jobs=[
            cron(measured(report_usage_lag), second={0, 10, 20, 30, 40, 50}, run_at_startup=True, timeout=30),
            # arq's cron jobs run once per slot fleet-wide (their job id is the slot), so one worker prunes
            cron(measured(prune_usage), minute={17}, second={0}, run_at_startup=True, timeout=600),
            cron(measured(resume_eval_runs), second={5}, run_at_startup=True, timeout=60),
            # every minute: a Redis restart leaves budgets unenforced for at most about that long
            cron(measured(reconcile_budgets), second={30}, run_at_startup=True, timeout=50),
            # hourly; the job itself takes one backup per `backupIntervalHours` interval (its job key)
            cron(measured(scheduled_backup), minute={41}, second={0}, run_at_startup=True, timeout=1800),
            cron(measured(prune_audit_log), minute={23}, second={0}, run_at_startup=True, timeout=600),
            # Every minute: a token is refreshed REFRESH_LEAD_SECONDS (5 min) before it expires.
            cron(measured(refresh_oauth_tokens), second={5}, run_at_startup=True, timeout=240),
            # Every other minute (keys.HEALTH_PROBE_TTL_MS keeps a result for five rounds).
            cron(
                measured(probe_connections), minute=set(range(0, 60, 2)), second={35}, run_at_startup=True, timeout=110
            ),
        ],
        redis_settings=redis_settings,
        ctx=ctx,
        job_serializer=jsonx.dumps,
        job_deserializer=jsonx.loads,
        handle_signals=False,
        max_tries=5,
        job_timeout=300,
        keep_result=3600,
    )


async def _snapshot_left_to_backstop() -> None:
    """The worker cannot publish snapshots; the control plane's backstop sees the bumped version."""


def maintenance_deps(settings: Settings, pool: Any, redis: Redis) -> dict[str, Any]:
    """What the OAuth refresh and health probe jobs need; both need the key that decrypts credentials."""
    if not settings.storage_encryption_key:
        log.warning("STORAGE_ENCRYPTION_KEY is not set: OAuth refresh and health probes are off")
        return {}
    cipher = FieldCipher(settings.storage_encryption_key, "provider-credentials")
    return {
        REFRESH_DEPS: RefreshDeps(
            pool=pool,
            redis=redis,
            cipher=cipher,
            allow_private=settings.allow_private_upstreams,
            published=_snapshot_left_to_backstop,
            post_form=post_form,
        ),
        PROBE_DEPS: ProbeDeps(
            redis=redis,
            codec=SnapshotCodec(settings.storage_encryption_key),
            allow_private=settings.allow_private_upstreams,
        ),
    }


async def _run_arq_forever(settings: Settings, ctx: dict[str, Any]) -> None:
    while True:
        worker = build_arq_worker(settings, ctx)
        try:
            await worker.main()
        except (RedisError, OSError) as exc:
            metrics.JOB_RUNS.labels(job="arq", result="redis_lost").inc()
            log.warning("arq lost Redis; restarting it", extra={"error": type(exc).__name__})
        finally:
            with contextlib.suppress(RedisError, OSError, asyncio.CancelledError):
                await worker.close()
        await asyncio.sleep(_ARQ_RESTART_SECONDS)


async def serve(settings: Settings) -> None:
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    redis = Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=3)
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    ingestor = UsageIngestor(pool, redis, consumer, claim_idle_ms=settings.usage_claim_idle_ms)
    ops = await start_ops_server(settings.host, settings.worker_port, pool, redis)
    http = aiohttp.ClientSession()
    cipher = FieldCipher(settings.storage_encryption_key, KEY_PURPOSE) if settings.storage_encryption_key else None
    evals = EvalsRuntime(EdgeClient(http, settings.evals_edge, settings.evals_case_timeout), cipher)
    ctx: dict[str, Any] = {
        "pool": pool,
        "usage_ingestor": ingestor,
        "evals": evals,
        **maintenance_deps(settings, pool, redis),
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(ingestor.run()), asyncio.create_task(_run_arq_forever(settings, ctx))]
    log.info("worker started", extra={"consumer": consumer})
    try:
        await stop.wait()
    finally:
        await cancel_and_wait(*tasks)
        await ops.cleanup()
        await http.close()
        await redis.aclose()
        await pool.close()


def run(settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    configure_logging("worker", settings.log_level)
    try:
        import uvloop

        uvloop.run(serve(settings))
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(serve(settings))
