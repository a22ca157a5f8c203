"""Shared pieces of the edge dispatch tests: snapshots with several connections, the fake's controls,
an in-process edge per snapshot, and requests sent concurrently through that edge.

Every connection of these snapshots points at the same threaded fake upstream and is told apart by
its upstream API key, so a fault scripted for one key (`POST /_fake/script` with `apiKey`) hits that
connection only, and the fake's ledger says which connection each request reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from litestar.testing import transport as litestar_transport
from redis.asyncio import Redis

from services.edge.app import create_app
from shared.config.snapshot import (
    ComboConfig,
    ConnectionConfig,
    KeyConfig,
    PolicyConfig,
    Snapshot,
    SnapshotCodec,
)
from shared.crypto import hash_api_key
from shared.kv.config_channel import ConfigChannel
from shared.settings import Settings, Timeouts
from tests.support.env import STORAGE_KEY, redis_url, settings_for

# A Redis db of their own: the other integration suites flush and republish db 13 as they run,
# which must not land in the middle of a scenario here.
REDIS_DB = 15  # its own db: 9 kv contracts, 10 up, 11 bench, 12 e2e, 13 integration, 14 fleet e2e

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
MODEL = "openai/gpt-4o-mini"

CLIENT_KEY = "sk-omni-dispatch-client-key-00000000000000000"
CLIENT_ID = "d1d1d1d1-0000-4000-8000-000000000001"
LIMITED_KEY = "sk-omni-dispatch-limited-key-0000000000000000"
LIMITED_ID = "d1d1d1d1-0000-4000-8000-000000000002"

# Upstream keys, one per connection: the fake scopes faults and records requests by them.
KEY_A = "sk-upstream-dispatch-alpha-000000000000000000"
KEY_B = "sk-upstream-dispatch-beta-0000000000000000000"
KEY_C = "sk-upstream-dispatch-gamma-000000000000000000"
KEY_G = "sk-upstream-dispatch-groq-0000000000000000000"
CONN_A = "aaaaaaaa-0000-4000-8000-00000000000a"
CONN_B = "bbbbbbbb-0000-4000-8000-00000000000b"
CONN_C = "cccccccc-0000-4000-8000-00000000000c"
CONN_G = "99999999-0000-4000-8000-000000000009"

FAST = {"firstByteTimeoutMs": 1500, "maxRetries": 0, "retryBackoffMs": 10, "requestDeadlineMs": 8000}


def fingerprint(api_key: str) -> str:
    """How the fake's ledger names an upstream key."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


A, B, C, G = fingerprint(KEY_A), fingerprint(KEY_B), fingerprint(KEY_C), fingerprint(KEY_G)
NAMES = {A: "A", B: "B", C: "C", G: "G"}


def auth(key: str = CLIENT_KEY) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def chat(content: str = "Hello", model: str = MODEL, **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def connection(
    ident: str, name: str, key: str, base_url: str, priority: int, provider: str, **extra: Any
) -> ConnectionConfig:
    return ConnectionConfig(
        id=ident, provider=provider, name=name, api_key=key, base_url=base_url, priority=priority, **extra
    )


def snapshot(
    base_url: str,
    *,
    connections: Sequence[str] = ("A", "B"),
    limits: Mapping[str, Mapping[str, int]] | None = None,
    resilience: Mapping[str, object] | None = None,
    settings: Mapping[str, object] | None = None,
    combos: Sequence[ComboConfig] = (),
    policies: Sequence[PolicyConfig] = (),
    limited_rpm: int | None = None,
    version: int = 1,
) -> Snapshot:
    """Openai connections A, B, C (priorities 1, 2, 3) and groq G, all on the fake; two client keys.

    `limits` adds per-connection fields (e.g. {"A": {"max_concurrent": 1}}); `resilience` is merged
    over FAST into settings["resilience"].
    """
    table = {
        "A": (CONN_A, "alpha", KEY_A, 1, "openai"),
        "B": (CONN_B, "beta", KEY_B, 2, "openai"),
        "C": (CONN_C, "gamma", KEY_C, 3, "openai"),
        "G": (CONN_G, "groq-main", KEY_G, 1, "groq"),
    }
    made = []
    for letter in connections:
        ident, name, key, priority, provider = table[letter]
        extra = dict((limits or {}).get(letter, {}))
        made.append(connection(ident, name, key, base_url, priority, provider, **extra))
    all_settings: dict[str, Any] = {"resilience": {**FAST, **(resilience or {})}}
    all_settings.update(settings or {})
    return Snapshot(
        version=version,
        published_at=time.time(),
        connections=tuple(made),
        keys=(
            KeyConfig(id=CLIENT_ID, name="client", key_hash=hash_api_key(CLIENT_KEY)),
            KeyConfig(
                id=LIMITED_ID,
                name="limited",
                key_hash=hash_api_key(LIMITED_KEY),
                max_requests_per_minute=limited_rpm,
            ),
        ),
        combos=tuple(combos),
        policies=tuple(policies),
        settings=all_settings,
    )


@contextlib.asynccontextmanager
async def fresh_redis() -> AsyncIterator[Redis]:
    """The dispatch tests' Redis db, emptied: no breaker, cooldown, limit or session leaks between tests."""
    client = Redis.from_url(redis_url(REDIS_DB))
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


def edge_settings() -> Settings:
    """The edge needs Redis only (its own db, see REDIS_DB); no Postgres."""
    settings = settings_for("omniroute_it", REDIS_DB)
    return replace(settings, timeouts=Timeouts(connect=1.0, first_byte=2.0, idle=2.0, total=10.0))


@contextlib.asynccontextmanager
async def edge_for(redis: Redis, config: Snapshot) -> AsyncIterator[AsyncTestClient[Any]]:
    """An in-process edge serving `config` from its first request on."""
    await ConfigChannel(redis).publish(config.version, SnapshotCodec(STORAGE_KEY).encode(config))
    async with AsyncTestClient(app=create_app(edge_settings())) as client:
        yield client


async def eventually(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    """Wait for a condition the edge reaches in the background (settlement runs off the answer's path)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def eventually_async(predicate: Callable[[], Any], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


class Fake:
    """The fake upstream's control endpoints: scripted faults and the ledger of requests received."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=5)

    async def reset(self) -> None:
        await self.http.delete("/_fake/script")
        await self.http.delete("/_fake/ledger")

    async def script(
        self, fault: Mapping[str, object], *, key: str | None = None, model: str | None = None, times: int | None = None
    ) -> None:
        match = {name: value for name, value in (("apiKey", key), ("model", model)) if value is not None}
        body: dict[str, object] = {"match": match, "fault": dict(fault)}
        if times is not None:
            body["times"] = times
        response = await self.http.post("/_fake/script", json=body)
        assert response.status_code == 200, response.text

    async def ledger(self) -> list[dict[str, Any]]:
        """The requests these tests' connections sent, in order. The fake is shared by the whole
        session: another module's request (another upstream key) that lands late is left out."""
        response = await self.http.get("/_fake/ledger")
        entries: list[dict[str, Any]] = response.json()
        return [entry for entry in entries if entry["key"] in NAMES]

    async def calls(self) -> list[tuple[str, int]]:
        """(connection letter, status the fake answered) for every request received, in order."""
        return [(NAMES[entry["key"]], int(entry["status"])) for entry in await self.ledger()]

    async def wait_for_calls(self, expected: list[tuple[str, int]], timeout: float = 3.0) -> None:
        """Wait until the ledger reads `expected`: a request the edge gave up on (a stall) is recorded
        once the fake's delay is over, and must not land in the next test's ledger."""
        deadline = time.monotonic() + timeout
        while (calls := await self.calls()) != expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"the fake's ledger reads {calls}, not {expected}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self.http.aclose()


def post_concurrently(
    client: AsyncTestClient[Any], path: str, bodies: Sequence[tuple[Mapping[str, object], Mapping[str, str]]]
) -> Any:
    """Send requests through the same in-process edge at the same time, one thread each.

    The test client blocks its caller until the app has answered, so two `await client.post(...)`
    never overlap; its transport is thread-safe (one portal into the app's event loop), so requests
    sent from threads run concurrently inside the edge.
    """
    transport = litestar_transport.TestClientTransport(client=client, raise_server_exceptions=True)

    def one(body: Mapping[str, object], headers: Mapping[str, str]) -> httpx.Response:
        request = httpx.Request("POST", client.base_url.join(path), json=dict(body), headers=dict(headers))
        response = transport.handle_request(request)
        response.read()
        return response

    async def send(index: int) -> httpx.Response:
        await asyncio.sleep(0.15 * index)  # in this order
        return await asyncio.to_thread(one, *bodies[index])

    return asyncio.gather(*(send(i) for i in range(len(bodies))))
