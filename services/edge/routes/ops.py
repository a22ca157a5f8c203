"""Liveness, readiness and metrics for an edge process."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from services.edge.state import edge_state
from shared import metrics

__all__ = ["healthz", "metrics_endpoint", "readyz"]


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready when a config snapshot is loaded and Redis answers."""
    state = edge_state(request)
    try:
        async with asyncio.timeout(1):
            redis_ok = bool(await state.redis.ping())
    except Exception:
        redis_ok = False
    snapshot_ok = state.holder.loaded.is_set()
    ready = redis_ok and snapshot_ok
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {"redis": redis_ok, "snapshot": snapshot_ok},
        "configVersion": state.holder.current.version,
    }
    return Response(body, status_code=200 if ready else 503)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response[bytes]:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
