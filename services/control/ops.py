"""Liveness, readiness and metrics for the control plane."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from services.control.context import control_state
from services.control.openapi_errors import document_error_bodies
from shared import jsonx, metrics

__all__ = ["healthz", "metrics_endpoint", "openapi_json", "readyz"]


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    state = control_state(request)
    checks: dict[str, bool] = {}
    try:
        async with asyncio.timeout(2):
            checks["postgres"] = await state.pool.fetchval("SELECT 1") == 1
    except Exception:
        checks["postgres"] = False
    try:
        async with asyncio.timeout(2):
            checks["redis"] = bool(await state.redis.ping())
    except Exception:
        checks["redis"] = False
    ready = all(checks.values())
    return Response({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response[bytes]:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


@get("/api/openapi.json", include_in_schema=False)
async def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The management API's OpenAPI 3.1 document."""
    schema = document_error_bodies(request.app.openapi_schema.to_schema())
    return Response(jsonx.dumps(schema), media_type="application/vnd.oai.openapi+json")
