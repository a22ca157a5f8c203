"""Monitoring across the fleet: every edge process appears in /api/monitoring/health, and
/api/telemetry/summary counts requests served by both edges once the worker has stored them."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from arq import create_pool
from arq.connections import RedisSettings

from shared import jsonx
from tests.support.stack import E2EStack

MODEL = "openai/gpt-4o-mini"


def health(e2e: E2EStack) -> dict[str, Any]:
    response = e2e.admin.get("/api/monitoring/health")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def openai_count(e2e: E2EStack) -> int:
    response = e2e.admin.get("/api/telemetry/summary", params={"window": "5m"})
    assert response.status_code == 200, response.text
    counts = {entry["provider"]: entry["count"] for entry in response.json()["providers"]}
    return int(counts.get("openai", 0))


def test_every_edge_process_is_listed_live_on_the_current_snapshot(e2e: E2EStack) -> None:
    ports = {urlsplit(edge).port for edge in e2e.edges}
    deadline = time.monotonic() + 15
    while True:
        answer = health(e2e)
        live = [replica for replica in answer["edges"]["replicas"] if replica["live"]]
        # The first edge runs two Granian workers, the second one: three replicas in all.
        if len(live) >= 3 and all(replica["current"] for replica in live):
            break
        assert time.monotonic() < deadline, answer["edges"]
        time.sleep(0.2)
    assert {replica["port"] for replica in live} == ports
    assert len({replica["pid"] for replica in live}) == len(live)
    assert all(replica["version"] == answer["configVersion"] for replica in live)
    assert answer["postgres"]["reachable"] and answer["redis"]["reachable"]
    assert answer["providers"]["configuredCount"] >= 1
    assert answer["providers"]["activeCount"] >= 1
    assert answer["status"] == "ok", answer["issues"]


def test_a_config_change_is_seen_on_every_replica(e2e: E2EStack) -> None:
    before = health(e2e)["configVersion"]
    created = e2e.create_key("monitoring-probe")
    assert e2e.admin.delete(f"/api/keys/{created['id']}").status_code == 200
    deadline = time.monotonic() + 5
    while True:
        answer = health(e2e)
        live = [replica for replica in answer["edges"]["replicas"] if replica["live"]]
        if answer["configVersion"] > before and all(r["version"] == answer["configVersion"] for r in live):
            break
        assert time.monotonic() < deadline, answer["edges"]
        time.sleep(0.1)


def test_telemetry_counts_requests_through_both_edges(e2e: E2EStack) -> None:
    before = openai_count(e2e)
    sent = []
    for index in range(12):
        edge = e2e.edges[index % 2]
        response = httpx.post(
            f"{edge}/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": f"telemetry {index}"}]},
            headers={"authorization": f"Bearer {e2e.key}"},
            timeout=20,
        )
        assert response.status_code == 200, response.text
        sent.append(response.headers["x-omniroute-request-id"])
    # The summary lags by the usage-ingest delay: poll it, bounded.
    deadline = time.monotonic() + 20
    while openai_count(e2e) < before + len(sent):
        assert time.monotonic() < deadline, f"telemetry never counted the {len(sent)} requests"
        time.sleep(0.2)
    rows = e2e.usage_rows(sent)
    assert len(rows) == len(sent)
    summary = e2e.admin.get("/api/telemetry/summary", params={"window": "5m"}).json()
    openai = next(entry for entry in summary["providers"] if entry["provider"] == "openai")
    latencies = sorted(row["latency_ms"] for row in rows.values())
    assert 0 < openai["latencyMs"]["p50"] <= openai["latencyMs"]["p95"] <= openai["latencyMs"]["p99"]
    assert openai["latencyMs"]["p99"] >= latencies[0]


def _probe_now(e2e: E2EStack) -> None:
    """Ask the running worker for a probe round now: its start-up round may have run before the
    session's connections existed, and the next cron round is up to two minutes away."""

    async def enqueue() -> None:
        pool = await create_pool(
            RedisSettings.from_dsn(e2e.redis_url), job_serializer=jsonx.dumps, job_deserializer=jsonx.loads
        )
        try:
            await pool.enqueue_job("cron:probe_connections", _job_id=f"e2e-probe-{uuid.uuid4()}")
        finally:
            await pool.aclose()

    asyncio.run(enqueue())


def test_the_workers_health_probes_show_every_active_connection_up(e2e: E2EStack) -> None:
    """The worker probes at start and every 2 minutes (here: on demand); the probes reach the fake
    upstream's model list."""
    _probe_now(e2e)
    deadline = time.monotonic() + 30
    while True:
        answer = health(e2e)
        if answer["probes"] and answer["providers"]["monitoredCount"]:
            break
        assert time.monotonic() < deadline, answer
        time.sleep(0.5)
    probes = answer["probes"]
    assert {probe["status"] for probe in probes} == {"up"}, probes
    assert all(probe["method"] == "models" and probe["httpStatus"] == 200 for probe in probes)
    assert "openai" in {probe["provider"] for probe in probes}
