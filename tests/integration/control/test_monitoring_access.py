"""The monitoring, telemetry, process-control and CLI-tool endpoints: admin only, documented in OpenAPI."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

READS = (
    "/api/monitoring/health",
    "/api/telemetry/summary",
    "/api/cli-tools/claude-settings",
    "/api/cli-tools/codex-settings",
    "/api/cli-tools/droid-settings",
    "/api/cli-tools/openclaw-settings",
    "/api/cli-tools/runtime/claude",
)
WRITES = ("/api/restart", "/api/shutdown")


async def test_no_credentials_401_inference_key_403_admin_key_200(admin: AsyncTestClient) -> None:
    inference = (await admin.post("/api/keys", json={"name": "app"})).json()["key"]
    automation = (await admin.post("/api/keys", json={"name": "ops", "scopes": ["admin"]})).json()["key"]
    await admin.post("/api/auth/logout")
    admin.cookies.clear()
    as_inference = {"authorization": f"Bearer {inference}"}
    as_automation = {"authorization": f"Bearer {automation}"}
    for path in READS:
        assert (await admin.get(path)).status_code == 401, path
        assert (await admin.get(path, headers=as_inference)).status_code == 403, path
        assert (await admin.get(path, headers=as_automation)).status_code == 200, path
    for path in WRITES:
        assert (await admin.post(path)).status_code == 401, path
        assert (await admin.post(path, headers=as_inference)).status_code == 403, path


async def test_an_in_process_control_plane_refuses_to_stop_itself(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    # Run in-process (as here), signalling "its" process would kill the host: 409, nothing audited.
    for path in WRITES:
        response = await admin.post(path)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "not_supervised"
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'control.%'") == 0


async def test_cross_site_cookie_writes_are_refused(admin: AsyncTestClient) -> None:
    for path in WRITES:
        response = await admin.post(path, headers={"sec-fetch-site": "cross-site"})
        assert response.status_code == 403, path


async def test_openapi_documents_the_endpoints(admin: AsyncTestClient) -> None:
    paths = (await admin.get("/api/openapi.json")).json()["paths"]
    for path in READS[:-1]:
        assert "get" in paths[path], path
    assert "get" in paths["/api/cli-tools/runtime/{tool_id}"]
    for path in WRITES:
        assert "202" in paths[path]["post"]["responses"], path
    window = next(p for p in paths["/api/telemetry/summary"]["get"]["parameters"] if p["name"] == "window")
    assert set(window["schema"]["enum"]) == {"5m", "15m", "1h", "6h", "24h", "7d"}
