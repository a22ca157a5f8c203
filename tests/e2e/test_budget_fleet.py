"""Per-key USD budgets held by the whole fleet: two edge processes on one Redis, 200 concurrent
requests for one key with a small budget, then the worker's reconciliation after a Redis flush.

Prices are overridden (100 US dollars per million tokens in and out) so that one request costs a
visible amount of micro-dollars on the fake upstream's short answers.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import redis as sync_redis
from redis.asyncio import Redis

from services.cli.local_stack import EdgeSpec
from services.workers.jobs.budget_reconcile import reconcile_budgets
from shared.formats.base import RequestContext
from shared.formats.estimate import estimate_input_tokens
from shared.formats.registry import get_dialect
from tests.support.env import database_url, free_port, redis_url
from tests.support.fleet import concurrently, metric_sum, wait_config_everywhere
from tests.support.stack import E2EStack, start_stack

DATABASE = "omniroute_e2e_budgets"
REDIS_DB = 3  # this module's own db in slot 0
LIMIT_MICROS = 60_000  # $0.06
MAX_TOKENS = 20
PRICE = 100.0  # US dollars per million tokens, in and out


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    url = redis_url(REDIS_DB)
    sync_redis.Redis.from_url(url).flushdb()
    stack = start_stack(
        DATABASE,
        tmp_path_factory.mktemp("budget-stack"),
        url,
        REDIS_DB,
        tuple(EdgeSpec(free_port(), workers=1) for _ in range(2)),
    )
    try:
        priced = stack.admin.patch(
            "/api/pricing", json={"provider": "openai", "model": "gpt-4o-mini", "input": PRICE, "output": PRICE}
        )
        assert priced.status_code == 200, priced.text
        yield stack
    finally:
        stack.admin.close()
        stack.stack.stop()


def _body(i: int) -> dict[str, Any]:
    return {
        "model": "openai/gpt-4o-mini",
        "max_tokens": MAX_TOKENS,
        "messages": [{"role": "user", "content": f"please answer request number {i} with a few words"}],
    }


def _reservation(i: int) -> int:
    """What the edge reserves for request i (the same estimate it makes)."""
    raw = httpx.Request("POST", "/", json=_body(i)).content
    chat = get_dialect("openai_chat").parse_request(raw, RequestContext()).request
    return math.ceil(estimate_input_tokens(chat) * PRICE + MAX_TOKENS * PRICE)


def _budget(stack: E2EStack, key_id: str) -> dict[str, Any]:
    rows = [b for b in stack.admin.get("/api/usage/budget").json()["budgets"] if b["keyId"] == key_id]
    assert len(rows) == 1
    return rows[0]


def _reconcile(stack: E2EStack) -> int:
    async def run() -> int:
        pool = await asyncpg.create_pool(database_url(stack.database), min_size=1, max_size=2)
        client = Redis.from_url(stack.redis_url)
        try:
            return await reconcile_budgets({"pool": pool, "redis": client})
        finally:
            await client.aclose()
            await pool.close()

    return asyncio.run(run())


def test_200_concurrent_requests_on_two_edges_never_overspend_and_reconciliation_restores_spent(
    fleet: E2EStack,
) -> None:
    key = fleet.create_key("budgeted")
    limited = fleet.admin.post("/api/usage/budget", json={"keyId": key["id"], "limit": LIMIT_MICROS / 1e6})
    assert limited.status_code == 200, limited.text
    wait_config_everywhere(fleet)
    headers = {"authorization": f"Bearer {key['key']}"}
    edges = fleet.edges
    assert len(edges) == 2

    def call(i: int) -> httpx.Response:
        return httpx.post(f"{edges[i % 2]}/v1/chat/completions", json=_body(i), headers=headers, timeout=30)

    trips_before = metric_sum(fleet, "omniroute_redis_round_trips_per_request_count", route="chat.completions")
    answers = concurrently([lambda i=i: call(i) for i in range(200)])  # type: ignore[misc]
    served = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert len(served) + len(refused) == 200, {a.status_code for a in answers}
    assert served and refused
    for answer in refused:
        assert answer.headers["x-should-retry"] == "false"
        assert answer.json()["error"]["code"] == "budget_exceeded"

    largest = max(_reservation(i) for i in range(200))
    ids = [a.headers["x-omniroute-request-id"] for a in answers]
    rows = fleet.wait_usage_rows(ids)
    recorded = sum(int(rows[a.headers["x-omniroute-request-id"]]["cost_micros"]) for a in served)
    assert all(int(rows[a.headers["x-omniroute-request-id"]]["cost_micros"]) == 0 for a in refused)
    assert recorded <= LIMIT_MICROS + largest
    status = _budget(fleet, key["id"])
    assert status["reservedMicros"] == 0  # every reservation was settled
    assert status["spentMicros"] == recorded
    assert status["spentMicros"] <= LIMIT_MICROS + largest

    # every budgeted request still made at most two Redis round trips (admission, settlement)
    name = "omniroute_redis_round_trips_per_request"
    counted = metric_sum(fleet, f"{name}_count", route="chat.completions") - trips_before
    assert counted == 200
    assert metric_sum(fleet, f"{name}_bucket", route="chat.completions", le="2.0") - trips_before == 200

    # a Redis flush forgets the counter; the worker rebuilds it from Postgres
    fleet.redis().flushdb()
    # 0 until a reconciliation runs (the stack's own worker may run its minutely one at any moment)
    assert _budget(fleet, key["id"])["spentMicros"] in (0, recorded)
    assert _reconcile(fleet) == 1
    assert _budget(fleet, key["id"])["spentMicros"] == recorded
    assert _reconcile(fleet) == 1  # idempotent
    assert _budget(fleet, key["id"])["spentMicros"] == recorded
    if recorded + _reservation(0) > LIMIT_MICROS:
        again = call(0)
        assert again.status_code == 429 and again.headers["x-should-retry"] == "false"
