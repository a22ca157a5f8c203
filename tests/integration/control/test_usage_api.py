"""/api/usage/history, request-logs and the per-connection summary, over rows the worker stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from services.workers.usage_store import insert_events
from shared.kv.usage_stream import UsageEvent

NOW = datetime.now(UTC) - timedelta(seconds=2)  # in the past, whatever the minute
HOUR = NOW.replace(minute=0, second=0, microsecond=0)


def event(index: int, key_id: str, connection_id: str | None, hours_ago: int, **fields: object) -> UsageEvent:
    base: dict[str, object] = {
        "request_id": f"hist-{index:04d}",
        "ts": (NOW - timedelta(hours=hours_ago)).timestamp(),
        "endpoint": "chat.completions",
        "status": 500 if index % 4 == 0 else 200,
        "api_key_id": key_id,
        "provider": "openai",
        "connection_id": connection_id,
        "model": "gpt-4o-mini" if index % 2 else "gpt-4o",
        "tokens_in": 100,
        "tokens_out": index,
        "tokens_cached": 10,
        "tokens_reasoning": 1,
        "cost_micros": 1000 + index,
        "latency_ms": 20.0 + index,
    }
    base.update(fields)
    return UsageEvent(**base)  # type: ignore[arg-type]


def field_of(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    return str(body["error"]["details"][0]["field"])


async def test_history_by_hour_and_day_adds_up_and_filters(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    key_a, key_b, conn = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    events = [event(i, key_a if i % 3 else key_b, conn, hours_ago=i % 3) for i in range(12)]
    assert await insert_events(pool, events) == 12
    hourly = await admin.get("/api/usage/history", params={"period": "hour"})
    assert hourly.status_code == 200, hourly.text
    body = hourly.json()
    assert [b["requests"] for b in body["buckets"]] == [4, 4, 4]
    assert body["totals"]["requests"] == 12
    assert body["totals"]["errors"] == 3
    assert body["totals"]["tokensOut"] == sum(range(12))
    assert body["totals"]["costMicros"] == sum(1000 + i for i in range(12))
    assert body["totals"]["latencyMsMax"] == 31.0
    assert body["buckets"][-1]["bucket"].startswith(NOW.strftime("%Y-%m-%dT%H:00:00"))
    daily = (await admin.get("/api/usage/history", params={"period": "day", "apiKeyId": key_b})).json()
    assert sum(b["requests"] for b in daily["buckets"]) == 4
    by_model = await admin.get("/api/usage/history", params={"model": "gpt-4o", "connectionId": conn})
    assert by_model.json()["totals"]["requests"] == 6
    recent = await admin.get(
        "/api/usage/history", params={"since": (HOUR + (NOW - HOUR) / 2).isoformat(), "provider": "openai"}
    )
    assert recent.json()["totals"]["requests"] == 4  # since is rounded down to the start of its hour
    assert (await admin.get("/api/usage/history", params={"provider": "groq"})).json()["buckets"] == []


async def test_history_bad_input_names_the_field(admin: AsyncTestClient) -> None:
    cases = {
        "period=week": "period",
        "apiKeyId=nope": "apiKeyId",
        "connectionId=nope": "connectionId",
        "since=yesterday": "since",
        "since=2026-01-02&until=2026-01-01": "until",
        "period=hour&since=2020-01-01&until=2026-01-01": "since",
    }
    for query, field in cases.items():
        response = await admin.get(f"/api/usage/history?{query}")
        assert response.status_code == 400, (query, response.text)
        assert field_of(response) == field, query


async def test_request_logs_carry_the_detail_and_filter_by_status(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    key = str(uuid.uuid4())
    assert await insert_events(pool, [event(i, key, None, hours_ago=0) for i in range(8)]) == 8
    page = (await admin.get("/api/usage/request-logs", params={"status": 500, "limit": 10})).json()
    assert page["total"] == 2
    row = page["logs"][0]
    assert row["status"] == 500
    assert row["costMicros"] == 1004 and row["costUsd"] == 0.001004
    assert row["storedAt"] and row["ingestDelayMs"] >= 0
    logs = (await admin.get("/api/usage/logs", params={"status": 200, "apiKeyId": key})).json()
    assert logs["total"] == 6 and "costMicros" not in logs["logs"][0]
    for path in ("/api/usage/logs", "/api/usage/request-logs"):
        assert field_of(await admin.get(f"{path}?status=42")) == "status"
        assert field_of(await admin.get(f"{path}?connectionId=x")) == "connectionId"
        assert field_of(await admin.get(f"{path}?since=2026-02-01&until=2026-01-01")) == "until"
        assert (await admin.get(f"{path}?limit=1001")).status_code == 400


async def test_connection_usage_summary(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    created = await admin.post("/api/providers", json={"provider": "openai", "name": "usage", "apiKey": "sk-test-1"})
    assert created.status_code == 201, created.text
    conn = created.json()["id"]
    key = str(uuid.uuid4())
    old = event(100, key, conn, hours_ago=48)
    assert await insert_events(pool, [old, *(event(i, key, conn, hours_ago=0) for i in range(1, 6))]) == 6
    response = await admin.get(f"/api/usage/{conn}", params={"limit": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["provider"], body["name"]) == ("openai", "usage")
    assert body["totals"]["requests"] == 6
    assert body["last24Hours"]["requests"] == 5
    assert {m["model"]: m["requests"] for m in body["models"]} == {"gpt-4o-mini": 3, "gpt-4o": 3}
    assert [r["requestId"] for r in body["recent"]] == ["hist-0005", "hist-0004", "hist-0003"]
    idle = await admin.post("/api/providers", json={"provider": "openai", "name": "idle", "apiKey": "sk-test-2"})
    empty = (await admin.get(f"/api/usage/{idle.json()['id']}")).json()
    assert empty["totals"]["requests"] == 0 and empty["totals"]["latencyMsAvg"] is None and empty["recent"] == []
    assert (await admin.delete(f"/api/providers/{conn}")).status_code == 200
    deleted = (await admin.get(f"/api/usage/{conn}")).json()  # usage outlives the connection
    assert deleted["name"] is None and deleted["totals"]["requests"] == 6
    assert (await admin.get(f"/api/usage/{uuid.uuid4()}")).status_code == 404
    assert (await admin.get("/api/usage/not-a-uuid")).status_code == 404
    assert field_of(await admin.get(f"/api/usage/{conn}?limit=0")) == "limit"
