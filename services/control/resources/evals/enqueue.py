"""Hand a run to the workers: an arq job whose id is the run's, JSON-serialised like every job."""

from __future__ import annotations

import logging

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared import jsonx
from shared.evals.jobs import RUN_EVAL_JOB, run_job_id

__all__ = ["enqueue_run"]

log = logging.getLogger(__name__)


async def enqueue_run(redis: Redis, run_id: str) -> bool:
    """True when queued now. A run that cannot be queued (Redis down) stays `queued` in Postgres and
    the workers' resume job queues it later; a job with the same id already present is left alone."""
    arq = ArqRedis(redis.connection_pool, job_serializer=jsonx.dumps, job_deserializer=jsonx.loads)
    try:
        job = await arq.enqueue_job(RUN_EVAL_JOB, run_id, _job_id=run_job_id(run_id))
    except (RedisError, OSError) as exc:
        log.warning(
            "eval run not queued; the workers will pick it up", extra={"run": run_id, "error": type(exc).__name__}
        )
        return False
    return job is not None
