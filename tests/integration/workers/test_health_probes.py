"""The workers' provider health probes: an arq worker in burst mode probes each active connection of the
published snapshot (a real fake upstream on loopback answering, and ones that fail), records the
verdicts in Redis, and /api/monitoring/health shows them; live-traffic breakers stay untouched."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.workers.jobs.health_probes import PROBE_DEPS, probe_connections
from services.workers.jobs.measured import measured
from services.workers.main import maintenance_deps
from shared.kv import keys
from shared.kv.health_probes import read_probes
from shared.settings import Settings
from tests.integration.conftest import REDIS_DB
from tests.integration.workers.arq_support import run_burst
from tests.support.env import free_port, redis_url
from tests.support.threaded_upstream import threaded_fake_upstream

URL = redis_url(REDIS_DB)
UPSTREAM_KEY = "sk-probe-test-upstream-key-0123456789abcdef"


@pytest.fixture(scope="module")
def fake_upstream() -> Iterator[str]:
    with threaded_fake_upstream() as url:
        yield url


@pytest.fixture(autouse=True)
def clear_faults(fake_upstream: str) -> Iterator[None]:
    yield
    httpx.delete(f"{fake_upstream}/_fake/script")


@dataclasses.dataclass
class ChatOnlyUpstream:
    """A loopback Azure-style upstream (Azure has no model list, so its probe is a minimal chat)."""

    url: str
    status: int = 200
    paths: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture
async def chat_only() -> AsyncIterator[ChatOnlyUpstream]:
    upstream = ChatOnlyUpstream(url="")

    async def answer(request: web.Request) -> web.Response:
        upstream.paths.append(request.path)
        if upstream.status != 200:
            return web.json_response(
                {"error": {"message": "scripted", "type": "x", "code": None}},
                status=upstream.status,
                headers={"Retry-After": "3"} if upstream.status == 429 else None,
            )
        return web.json_response(
            {
                "id": "chatcmpl-probe",
                "object": "chat.completion",
                "created": 1,
                "model": "probe-model",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
            }
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    upstream.url = f"http://127.0.0.1:{port}"
    yield upstream
    await runner.cleanup()


async def create(admin: AsyncTestClient, **body: Any) -> str:
    response = await admin.post("/api/providers", json={"apiKey": UPSTREAM_KEY, **body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def probe_context(settings: Settings, pool: asyncpg.Pool, redis: Redis) -> dict[str, Any]:
    return {"pool": pool, **maintenance_deps(settings, pool, redis)}


async def test_probes_record_up_and_down_and_the_health_endpoint_shows_them(
    admin: AsyncTestClient,
    fake_upstream: str,
    chat_only: ChatOnlyUpstream,
    settings: Settings,
    pool: asyncpg.Pool,
    redis: Redis,
) -> None:
    up = await create(admin, provider="openai", name="answers", baseUrl=f"{fake_upstream}/v1")
    chat = await create(admin, provider="azure", name="deployment", baseUrl=chat_only.url, models=["my-deployment"])
    missing = await create(admin, provider="openai", name="wrong-path", baseUrl=f"{fake_upstream}/nowhere")
    refused = await create(admin, provider="openai", name="closed-port", baseUrl="http://127.0.0.1:9/v1")
    off = await create(admin, provider="openai", name="inactive", baseUrl=f"{fake_upstream}/v1", isActive=False)

    assert await run_burst(URL, measured(probe_connections), probe_context(settings, pool, redis)) == 4

    records = {r.connection_id: r for r in await read_probes(redis, [up, chat, missing, refused, off])}
    assert set(records) == {up, chat, missing, refused}  # inactive connections are not probed
    assert (records[up].status, records[up].method, records[up].http_status) == ("up", "models", 200)
    assert records[up].latency_ms is not None and records[up].error_code is None
    assert (records[chat].status, records[chat].method) == ("up", "chat")  # azure has no model list
    assert chat_only.paths == ["/openai/deployments/my-deployment/chat/completions"]
    assert (records[missing].status, records[missing].http_status) == ("down", 404)
    assert (records[refused].status, records[refused].http_status) == ("down", None)
    assert records[refused].error_code == "upstream_unreachable"
    assert 0 < await redis.pttl(keys.health_probe(up)) <= keys.HEALTH_PROBE_TTL_MS

    answer = (await admin.get("/api/monitoring/health")).json()
    probes = {p["connectionId"]: p for p in answer["probes"]}
    assert set(probes) == {up, chat, missing, refused}
    assert [p["status"] for p in answer["probes"]][:2] == ["down", "down"]  # failures first
    assert probes[up] | {"latencyMs": None, "checkedAt": None} == {
        "connectionId": up,
        "provider": "openai",
        "name": "answers",
        "status": "up",
        "method": "models",
        "latencyMs": None,
        "checkedAt": None,
        "httpStatus": 200,
        "errorCode": None,
    }
    assert probes[chat]["provider"] == "azure"
    assert answer["status"] == "degraded"
    assert "connection closed-port of openai failed its health probe (upstream_unreachable)" in answer["issues"]
    assert any(
        issue.startswith("connection wrong-path of openai failed its health probe") for issue in answer["issues"]
    )
    assert answer["providers"]["monitoredCount"] == 2  # openai and azure: both have probe results
    # Probes leave live traffic's state alone: no breaker failures, no cooldowns.
    assert all(b["failures"] == 0 and b["state"] == "closed" for b in answer["breakers"])
    assert all(b["coolingConnections"] == 0 for b in answer["breakers"])
    assert UPSTREAM_KEY not in str(answer)


async def test_an_upstream_error_is_down_with_the_gateway_code_and_429_is_up(
    admin: AsyncTestClient, chat_only: ChatOnlyUpstream, settings: Settings, pool: asyncpg.Pool, redis: Redis
) -> None:
    ident = await create(admin, provider="azure", name="scripted", baseUrl=chat_only.url, models=["my-deployment"])
    ctx = probe_context(settings, pool, redis)
    chat_only.status = 401
    await run_burst(URL, measured(probe_connections), ctx)
    (record,) = await read_probes(redis, [ident])
    assert (record.status, record.http_status, record.method) == ("down", 401, "chat")
    assert record.error_code == "upstream_auth_error"
    chat_only.status = 429
    await run_burst(URL, measured(probe_connections), ctx)
    (record,) = await read_probes(redis, [ident])
    assert (record.status, record.http_status) == ("up", 429)  # reachable and accepted, only busy


async def test_the_connect_time_guard_applies_unless_private_upstreams_are_allowed(
    admin: AsyncTestClient, fake_upstream: str, settings: Settings, pool: asyncpg.Pool, redis: Redis
) -> None:
    ident = await create(admin, provider="openai", name="loopback", baseUrl=f"{fake_upstream}/v1")
    guarded = dataclasses.replace(settings, allow_private_upstreams=False)
    await run_burst(URL, measured(probe_connections), probe_context(guarded, pool, redis))
    (record,) = await read_probes(redis, [ident])
    assert (record.status, record.error_code) == ("down", "unsafe_url")


async def test_without_a_snapshot_or_the_key_nothing_is_probed(
    settings: Settings, pool: asyncpg.Pool, redis: Redis, clean_db: None
) -> None:
    assert await probe_connections({}) == 0
    ctx = probe_context(settings, pool, redis)
    assert PROBE_DEPS in ctx
    assert await probe_connections(ctx) == 0  # Redis holds no snapshot yet
