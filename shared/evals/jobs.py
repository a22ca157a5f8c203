"""The eval run job as both sides name it: the control plane enqueues, the workers run."""

from __future__ import annotations

__all__ = ["KEY_PURPOSE", "RUN_EVAL_JOB", "run_job_id"]

RUN_EVAL_JOB = "run_eval"
# FieldCipher purpose of a run's minted API key (associated data: the run id)
KEY_PURPOSE = "eval-run-key"


def run_job_id(run_id: str) -> str:
    """arq job id of a run: enqueueing a run that is queued, running or recently finished does nothing."""
    return f"eval-run:{run_id}"
