"""Usage logs, the audit log, OpenAPI and the ops endpoints of the control plane."""

from __future__ import annotations

import time
import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from services.workers.usage_ingest import insert_events
from shared.kv.usage_stream import UsageEvent


def event(index: int, key_id: str, provider: str = "openai", ts: float | None = None) -> UsageEvent:
    return UsageEvent(
        request_id=f"req-{index:04d}",
        ts=ts if ts is not None else time.time() - index,
        endpoint="chat.completions",
        status=200,
        api_key_id=key_id,
        provider=provider,
        model="gpt-4o-mini",
        tokens_in=10,
        tokens_out=index,
        cost_micros=1500,
    )


async def test_usage_logs_paginate_and_filter(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    key_a, key_b = str(uuid.uuid4()), str(uuid.uuid4())
    events = [event(i, key_a if i % 2 else key_b, "openai" if i < 6 else "groq") for i in range(10)]
    assert await insert_events(pool, events) == 10
    page = (await admin.get("/api/usage/logs?limit=4")).json()
    assert page["total"] == 10
    assert [log["requestId"] for log in page["logs"]] == ["req-0000", "req-0001", "req-0002", "req-0003"]
    assert page["logs"][0]["costUsd"] == 0.0015
    second = (await admin.get("/api/usage/logs?limit=4&offset=8")).json()
    assert [log["requestId"] for log in second["logs"]] == ["req-0008", "req-0009"]
    by_key = (await admin.get(f"/api/usage/logs?apiKeyId={key_a}")).json()
    assert by_key["total"] == 5
    assert {log["apiKeyId"] for log in by_key["logs"]} == {key_a}
    assert (await admin.get("/api/usage/logs?provider=groq")).json()["total"] == 4
    assert (await admin.get("/api/usage/logs?limit=0")).status_code == 400
    assert (await admin.get("/api/usage/logs?limit=abc")).status_code == 400
    bad_key = await admin.get("/api/usage/logs?apiKeyId=not-a-uuid")  # a filter, not a path id: bad input
    assert bad_key.status_code == 400 and bad_key.json()["error"]["details"][0]["field"] == "apiKeyId"


async def test_audit_log_filters_and_pagination_headers(admin: AsyncTestClient) -> None:
    for name in ("a", "b", "c"):
        await admin.post("/api/keys", json={"name": name})
    response = await admin.get("/api/compliance/audit-log?action=key&limit=2")
    assert response.status_code == 200
    assert response.headers["x-total-count"] == "3"
    assert response.headers["x-page-limit"] == "2"
    entries = response.json()
    assert [e["action"] for e in entries] == ["key.created", "key.created"]
    assert entries[0]["after"]["name"] == "c"  # newest first
    assert (await admin.get("/api/compliance/audit-log?actor=nobody")).json() == []
    assert (await admin.get("/api/compliance/audit-log?limit=501")).status_code == 400


async def test_openapi_and_ops_endpoints(control: AsyncTestClient) -> None:
    schema = await control.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/providers", "/api/providers/{provider_id}", "/api/keys", "/api/usage/logs"):
        assert path in paths
    assert (await control.get("/healthz")).json() == {"status": "ok"}
    ready = await control.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": True, "redis": True}
    metrics = await control.get("/metrics")
    assert "omniroute_config_publishes_total" in metrics.text
    unknown = await control.get("/api/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


async def test_bodies_over_the_limit_are_refused(admin: AsyncTestClient, settings: object) -> None:
    size = 21 * 1024 * 1024
    response = await admin.post(
        "/api/keys", content=b'{"name":"' + b"x" * size + b'"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "error" in response.json()


async def test_values_postgres_cannot_hold_are_400_not_500(admin: AsyncTestClient) -> None:
    for path in (
        "/api/usage/logs?model=%00",
        "/api/compliance/audit-log?action=%00x",
        "/api/providers?provider=%00",
        "/api/providers?offset=100000000000000000000000",
        "/api/keys?offset=-1",
    ):
        response = await admin.get(path)
        assert response.status_code == 400, path
        assert "error" in response.json()
    body = {"provider": "openai", "name": "n", "apiKey": "k", "providerSpecificData": {"a": "\u0000"}}
    response = await admin.post("/api/providers", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "providerSpecificData"
