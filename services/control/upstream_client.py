"""The guarded one-shot upstream call lives in shared/ (the workers' health probes use it too)."""

from shared.upstream_client import Answer, fetch

__all__ = ["Answer", "fetch"]
