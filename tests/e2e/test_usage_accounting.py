"""Every request's usage row lands in Postgres exactly once, through worker crashes too."""

from __future__ import annotations

import threading
import time

import httpx

from shared.kv import keys
from tests.support.stack import E2EStack

MODEL = "openai/gpt-4o-mini"


def send(e2e: E2EStack, index: int, stream: bool = False) -> tuple[str, int]:
    """One request through edge index % 2; returns (request id, completion tokens)."""
    edge = e2e.edges[index % 2]
    body = {
        "model": MODEL,
        "stream": stream,
        "messages": [{"role": "user", "content": f"count {index} " * (index % 3 + 1)}],
    }
    headers = {"authorization": f"Bearer {e2e.key}"}
    if stream:
        body["stream_options"] = {"include_usage": True}
        with httpx.stream("POST", f"{edge}/v1/chat/completions", json=body, headers=headers, timeout=20) as response:
            assert response.status_code == 200
            lines = [line for line in response.iter_lines() if line]
            request_id = response.headers["x-omniroute-request-id"]
        usage_line = lines[-2]
        assert '"usage":{' in usage_line
        tokens = int(usage_line.split('"completion_tokens":')[1].split(",")[0])
        return request_id, tokens
    response = httpx.post(f"{edge}/v1/chat/completions", json=body, headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    return response.headers["x-omniroute-request-id"], response.json()["usage"]["completion_tokens"]


def test_each_request_lands_exactly_once_with_its_tokens(e2e: E2EStack) -> None:
    sent = dict(send(e2e, i, stream=i % 3 == 0) for i in range(24))
    rows = e2e.wait_usage_rows(sent)
    assert len(rows) == 24
    for request_id, tokens in sent.items():
        row = rows[request_id]
        assert row["tokens_out"] == tokens
        assert row["status"] == 200
        assert str(row["api_key_id"]) == e2e.key_id
        assert str(row["connection_id"]) == e2e.provider_id
        assert row["model"] == "gpt-4o-mini"
        assert row["requested_model"] == MODEL
    assert sum(1 for r in rows.values() if r["stream"]) == 8
    listed = e2e.admin.get("/api/usage/logs", params={"apiKeyId": e2e.key_id, "limit": 1000}).json()
    assert {log["requestId"] for log in listed["logs"]} >= set(sent)


def test_a_killed_worker_loses_nothing_and_counts_nothing_twice(e2e: E2EStack) -> None:
    supervisor = e2e.stack.supervisor
    supervisor.kill("worker")
    sent = [send(e2e, i)[0] for i in range(10)]
    # A consumer that read half the backlog and died before acknowledging it.
    client = e2e.redis()
    time.sleep(0.2)  # let the edges flush their batches to the stream
    orphaned = client.xreadgroup(keys.USAGE_GROUP, "worker-that-crashed", {keys.USAGE_STREAM: ">"}, count=5)
    assert orphaned and len(orphaned[0][1]) == 5
    supervisor.restart("worker")
    rows = e2e.wait_usage_rows(sent, timeout=20)
    assert len(rows) == 10
    deadline = time.monotonic() + 10
    while client.xpending(keys.USAGE_STREAM, keys.USAGE_GROUP)["pending"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.xpending(keys.USAGE_STREAM, keys.USAGE_GROUP)["pending"] == 0


def test_worker_killed_and_restarted_while_traffic_flows(e2e: E2EStack) -> None:
    supervisor = e2e.stack.supervisor
    sent: list[str] = []
    failures: list[BaseException] = []

    def traffic() -> None:
        try:
            for i in range(40):
                sent.append(send(e2e, i, stream=i % 4 == 0)[0])
                time.sleep(0.02)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=traffic)
    thread.start()
    for _ in range(2):
        time.sleep(0.3)
        supervisor.kill("worker")
        time.sleep(0.3)
        supervisor.restart("worker")
    thread.join(60)
    assert not failures
    assert len(sent) == 40
    rows = e2e.wait_usage_rows(sent, timeout=30)
    assert len(rows) == 40
    counted = e2e.fetch("SELECT count(*) AS n FROM usage_events WHERE request_id = ANY($1::text[])", sent)
    assert counted[0]["n"] == 40
