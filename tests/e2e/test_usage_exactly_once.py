"""Exactly-once usage under failures: N requests while the worker is killed and restarted and Redis
is restarted empty, then exactly N usage rows, roll-ups that add up to them, and a history that
says N. (Redis keeps nothing on disk here: events it loses are appended again by the edges.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from services.cli.local_stack import EdgeSpec
from tests.support.env import free_port
from tests.support.redis_server import PrivateRedis
from tests.support.stack import E2EStack, start_stack
from tests.support.usage_rollups import assert_rollups_match, rollup_queries

REQUESTS = 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[E2EStack, PrivateRedis]]:
    server = PrivateRedis()
    server.start()
    e2e = start_stack(
        "omniroute_e2e_exactly_once",
        tmp_path_factory.mktemp("exactly-once-stack"),
        server.url,
        0,
        (EdgeSpec(free_port(), workers=1), EdgeSpec(free_port(), workers=1)),
        OMNIROUTE_USAGE_CLAIM_IDLE_MS="1000",
        OMNIROUTE_SNAPSHOT_REPUBLISH_SECONDS="0.5",
    )
    try:
        yield e2e, server
    finally:
        e2e.admin.close()
        e2e.stack.stop()
        server.stop()


def send(e2e: E2EStack, index: int) -> str:
    body: dict[str, object] = {
        "model": "openai/gpt-4o-mini",
        "stream": index % 3 == 0,
        "messages": [{"role": "user", "content": f"request {index} " * (index % 4 + 1)}],
    }
    headers = {"authorization": f"Bearer {e2e.key}"}
    url = f"{e2e.edges[index % 2]}/v1/chat/completions"
    if body["stream"]:
        body["stream_options"] = {"include_usage": True}
        with httpx.stream("POST", url, json=body, headers=headers, timeout=20) as response:
            assert response.status_code == 200
            for _ in response.iter_lines():
                pass
            return response.headers["x-omniroute-request-id"]
    response = httpx.post(url, json=body, headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    return response.headers["x-omniroute-request-id"]


def test_n_requests_through_worker_kills_and_a_redis_restart_are_counted_exactly_once(
    stack: tuple[E2EStack, PrivateRedis],
) -> None:
    e2e, server = stack
    supervisor = e2e.stack.supervisor
    sent: list[str] = []
    failures: list[BaseException] = []

    def traffic() -> None:
        try:
            for i in range(REQUESTS):
                sent.append(send(e2e, i))
                time.sleep(0.03)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=traffic)
    thread.start()
    time.sleep(0.4)
    supervisor.kill("worker")  # events pile up in the stream, some read and never acknowledged
    time.sleep(0.4)
    server.stop()  # Redis gone, and with it everything not yet stored
    time.sleep(0.8)
    server.start()  # back, empty: no stream, no group, no markers
    time.sleep(0.3)
    supervisor.restart("worker")
    time.sleep(0.5)
    supervisor.kill("worker")
    time.sleep(0.2)
    supervisor.restart("worker")
    thread.join(90)
    assert not thread.is_alive()
    assert not failures, failures
    assert len(sent) == len(set(sent)) == REQUESTS

    rows = e2e.wait_usage_rows(sent, timeout=40)
    assert len(rows) == REQUESTS
    assert e2e.fetch("SELECT count(*) AS n FROM usage_events")[0]["n"] == REQUESTS  # nothing twice, nothing else
    assert all(row["cost_micros"] > 0 for row in rows.values())  # gpt-4o-mini has a catalog price
    for raw_query, args, rolled_query in rollup_queries():
        assert_rollups_match(e2e.fetch(raw_query, *args), e2e.fetch(rolled_query))
    assert e2e.fetch("SELECT sum(requests) AS n FROM usage_daily")[0]["n"] == REQUESTS
    history = e2e.admin.get("/api/usage/history", params={"period": "day", "apiKeyId": e2e.key_id})
    assert history.status_code == 200, history.text
    totals = history.json()["totals"]
    assert totals["requests"] == REQUESTS
    assert totals["costMicros"] == sum(row["cost_micros"] for row in rows.values())
    assert totals["tokensOut"] == sum(row["tokens_out"] for row in rows.values())
    assert supervisor.dead() is None
    # The edges noticed the empty Redis and appended their recent events again (without that, a few
    # events that were in the stream but not yet stored are lost: measured 3 of 60).
    assert sum(replayed(edge) for edge in e2e.edges) > 0


def replayed(edge: str) -> float:
    lines = httpx.get(f"{edge}/metrics", timeout=5).text.splitlines()
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("omniroute_usage_events_replayed_total")
    )
