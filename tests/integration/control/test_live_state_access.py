"""The live-state endpoints: admin only, in the OpenAPI document, and a 503 (not a 500) without Redis."""

from __future__ import annotations

import dataclasses

from litestar.testing import AsyncTestClient

from services.control.app import create_app
from shared.settings import Settings
from tests.integration.control.routing_support import make_connection
from tests.support.auth import CSRF_HEADER_NAME
from tests.support.env import free_port

READS = ("/api/resilience", "/api/rate-limits", "/api/sessions", "/api/models/availability")
WRITES = (("/api/resilience/reset", {}), ("/api/models/availability", {"model": "openai/gpt-4o"}))


async def test_no_credentials_401_inference_key_403_admin_key_200(admin: AsyncTestClient) -> None:
    inference = (await admin.post("/api/keys", json={"name": "app"})).json()["key"]
    automation = (await admin.post("/api/keys", json={"name": "ops", "scopes": ["admin"]})).json()["key"]
    await admin.post("/api/auth/logout")
    admin.cookies.clear()

    for path in READS:
        assert (await admin.get(path)).status_code == 401, path
        assert (await admin.get(path, headers={"authorization": f"Bearer {inference}"})).status_code == 403, path
        assert (await admin.get(path, headers={"authorization": f"Bearer {automation}"})).status_code == 200, path
    for path, body in WRITES:
        assert (await admin.post(path, json=body)).status_code == 401, path
        as_inference = {"authorization": f"Bearer {inference}"}
        assert (await admin.post(path, json=body, headers=as_inference)).status_code == 403, path
    as_automation = {"authorization": f"Bearer {automation}"}
    assert (await admin.post("/api/resilience/reset", headers=as_automation)).status_code == 200


async def test_cookie_resets_from_another_site_are_refused(admin: AsyncTestClient) -> None:
    response = await admin.post("/api/resilience/reset", headers={"sec-fetch-site": "cross-site"})
    assert response.status_code == 403


async def test_openapi_documents_the_live_endpoints(admin: AsyncTestClient) -> None:
    document = (await admin.get("/api/openapi.json")).json()
    paths = document["paths"]
    for path in (*READS, "/api/resilience/reset"):
        assert path in paths, path
    assert "post" in paths["/api/models/availability"]
    assert "post" in paths["/api/resilience/reset"]
    assert "200" in paths["/api/resilience/reset"]["post"]["responses"]


async def test_without_redis_live_reads_are_503_and_settings_still_answer(
    settings: Settings, admin: AsyncTestClient
) -> None:
    # something to read, or there would be no Redis call to fail
    assert (await admin.post("/api/keys", json={"name": "app", "maxRequestsPerMinute": 5})).status_code == 201
    await make_connection(admin, "openai")
    unreachable = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with AsyncTestClient(app=create_app(unreachable)) as client:
        # login itself fails closed without Redis; a session from a healthy instance stays valid
        client.cookies = admin.cookies
        client.headers[CSRF_HEADER_NAME] = admin.headers[CSRF_HEADER_NAME]
        resilience = await client.get("/api/resilience")
        assert resilience.status_code == 200
        assert set(resilience.json()) == {"settings"}  # no live state to show
        for path in ("/api/rate-limits", "/api/sessions", "/api/models/availability"):
            response = await client.get(path)
            assert response.status_code == 503, path
            assert response.json()["error"]["code"] == "state_unavailable"
        assert (await client.post("/api/resilience/reset")).status_code == 503
        assert (await client.post("/api/resilience/reset", json={"provider": "openai"})).status_code == 503
        assert (await client.post("/api/models/availability", json={"model": "nope"})).status_code == 404
