"""The edge's client address middleware: who is refused, in which dialect, and what is never filtered."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from services.edge.client_access import client_access_middleware
from shared import jsonx
from shared.config.snapshot import Snapshot
from shared.routing.config import EdgeConfig


def config(**ip_filter: list[str]) -> EdgeConfig:
    settings = {"ipFilter": ip_filter} if ip_filter else {}
    return EdgeConfig(Snapshot(version=3, published_at=time.time(), settings=settings))


async def call(
    edge_config: EdgeConfig, path: str, peer: str | None, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, Any]:
    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    litestar_app = SimpleNamespace(
        state=SimpleNamespace(edge=SimpleNamespace(holder=SimpleNamespace(current=edge_config)))
    )
    scope = {
        "type": "http",
        "path": path,
        "headers": headers or [],
        "client": (peer, 40_000) if peer else None,
        "litestar_app": litestar_app,
    }
    await client_access_middleware(app)(scope, receive, send)  # type: ignore[arg-type]
    if reached:
        return 0, None
    return sent[0]["status"], jsonx.loads(sent[1]["body"])


async def test_without_lists_every_client_passes() -> None:
    assert await call(config(), "/v1/chat/completions", "203.0.113.5") == (0, None)
    assert await call(config(trustedProxies=["10.0.0.0/8"]), "/v1/chat/completions", "203.0.113.5") == (0, None)


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/chat/completions", lambda body: body["error"]["code"] == "ip_not_allowed"),
        ("/v1/messages", lambda body: body["type"] == "error" and body["error"]["type"] == "permission_error"),
        ("/v1beta/models/gemini-2.5-pro:generateContent", lambda body: body["error"]["status"] == "PERMISSION_DENIED"),
        ("/api/chat", lambda body: isinstance(body["error"], str)),
        ("/v1/responses", lambda body: body["error"]["code"] == "ip_not_allowed"),
    ],
)
async def test_a_blocked_client_gets_403_in_the_dialect_of_the_path(path: str, shape: Any) -> None:
    status, body = await call(config(block=["203.0.113.0/24"]), path, "203.0.113.5")
    assert status == 403
    assert shape(body), body


async def test_allow_lists_admit_only_their_clients() -> None:
    rules = config(allow=["192.0.2.0/24", "2001:db8::/32"])
    assert (await call(rules, "/v1/models", "192.0.2.9"))[0] == 0
    assert (await call(rules, "/v1/models", "2001:db8::9"))[0] == 0
    assert (await call(rules, "/v1/models", "198.51.100.1"))[0] == 403
    assert (await call(rules, "/v1/models", None))[0] == 403


async def test_operations_endpoints_are_never_filtered() -> None:
    rules = config(allow=["192.0.2.0/24"])
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await call(rules, path, "198.51.100.1"))[0] == 0


async def test_forwarded_for_counts_only_from_trusted_proxies() -> None:
    rules = config(block=["203.0.113.0/24"], trustedProxies=["10.0.0.0/8"])
    forwarded = [(b"x-forwarded-for", b"203.0.113.5")]
    assert (await call(rules, "/v1/chat/completions", "10.0.0.2", forwarded))[0] == 403
    assert (await call(rules, "/v1/chat/completions", "198.51.100.1", forwarded))[0] == 0
    innocent = [(b"x-forwarded-for", b"203.0.113.5, 198.51.100.9")]  # a forged left part does not matter
    assert (await call(rules, "/v1/chat/completions", "10.0.0.2", innocent))[0] == 0
