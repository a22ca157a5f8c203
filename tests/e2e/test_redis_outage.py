"""Redis goes away and comes back empty: edges keep serving from their snapshot, nothing is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from services.cli.local_stack import EdgeSpec
from tests.support.env import free_port
from tests.support.redis_server import PrivateRedis
from tests.support.stack import E2EStack, start_stack

BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "during the outage"}]}


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[E2EStack, PrivateRedis]]:
    server = PrivateRedis()
    server.start()
    stack = start_stack(
        "omniroute_e2e_outage",
        tmp_path_factory.mktemp("outage-stack"),
        server.url,
        0,
        (EdgeSpec(free_port(), workers=1),),
        OMNIROUTE_USAGE_CLAIM_IDLE_MS="1000",
        OMNIROUTE_SNAPSHOT_REPUBLISH_SECONDS="0.5",
    )
    try:
        yield stack, server
    finally:
        stack.admin.close()
        stack.stack.stop()
        server.stop()


def chat(stack: E2EStack, key: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{stack.edges[0]}/v1/chat/completions",
        json=BODY,
        headers={"authorization": f"Bearer {key or stack.key}"},
        timeout=10,
    )


def test_edges_serve_through_a_redis_restart_and_usage_is_not_lost(
    outage: tuple[E2EStack, PrivateRedis],
) -> None:
    stack, server = outage
    limited = stack.create_key("limited", maxRequestsPerMinute=4)["key"]
    before = chat(stack)
    assert before.status_code == 200
    stack.wait_usage_rows([before.headers["x-omniroute-request-id"]])
    deadline = time.monotonic() + 5
    while chat(stack, limited).status_code != 200:  # the edge has the new key
        assert time.monotonic() < deadline
        time.sleep(0.05)

    server.stop()
    during = [chat(stack) for _ in range(3)]
    assert [r.status_code for r in during] == [200, 200, 200]  # auth and config come from memory
    # Limits fall back to this process, at limit / fallbackDivisor (2): 4 per minute -> 2 here.
    local = [chat(stack, limited) for _ in range(3)]
    assert [r.status_code for r in local] == [200, 200, 429]
    assert int(local[2].headers["retry-after"]) >= 1
    metrics = httpx.get(f"{stack.edges[0]}/metrics").text
    assert 'omniroute_redis_fallback_total{operation="admission"}' in metrics
    assert httpx.get(f"{stack.edges[0]}/readyz").status_code == 503  # honest about Redis
    time.sleep(3)  # long enough for every background loop to notice and back off
    assert stack.stack.supervisor.dead() is None  # nobody crashed

    server.start()  # back, and empty: no snapshot, no stream, no consumer group
    deadline = time.monotonic() + 20
    while httpx.get(f"{stack.edges[0]}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "edge never became ready again"
        time.sleep(0.2)
    ids = [r.headers["x-omniroute-request-id"] for r in during]
    rows = stack.wait_usage_rows(ids, timeout=30)
    assert len(rows) == 3
    assert stack.stack.supervisor.dead() is None

    # Config changes flow again after the restart.
    revoked = stack.admin.delete(f"/api/keys/{stack.key_id}")
    assert revoked.status_code == 200
    deadline = time.monotonic() + 5
    while chat(stack).status_code != 401:
        assert time.monotonic() < deadline, "revocation did not reach the edge after the Redis restart"
        time.sleep(0.1)
