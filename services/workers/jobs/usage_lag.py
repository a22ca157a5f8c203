"""Job: measure the usage stream's lag (backlog, pending entries, oldest age) for the gauges and alerts."""

from __future__ import annotations

import logging
from typing import Any

from services.workers.usage_ingest import UsageIngestor

__all__ = ["report_usage_lag"]

log = logging.getLogger(__name__)

_WARN_AT = 10_000


async def report_usage_lag(ctx: dict[str, Any]) -> int:
    ingestor: UsageIngestor = ctx["usage_ingestor"]
    lag = await ingestor.lag()
    if lag.backlog > _WARN_AT:
        log.warning("usage stream backlog is high", extra={"backlog": lag.backlog, "oldest_s": lag.oldest_age_seconds})
    return lag.backlog
