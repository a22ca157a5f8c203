"""The edge's outbound proxies and connect-time SSRF guard, against real loopback proxies.

An in-process edge, real Redis, the real fake upstream, and the tiny HTTP CONNECT / SOCKS5
proxies of tests/support/loopback_proxies.py, which count the connections they carry: requests
go through the proxy the snapshot names for their provider (global, per-provider override, or
`none` for direct), credentials reach the proxy, and with private upstreams not allowed no
socket is ever opened to a loopback address, however it is spelled or resolved.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.edge.app import create_app
from services.edge.state import EdgeState
from shared.config.snapshot import ConnectionConfig, KeyConfig, Snapshot
from shared.crypto import hash_api_key
from shared.settings import Settings
from tests.integration.edge.conftest import CLIENT_KEY, UPSTREAM_KEY
from tests.support.loopback_proxies import RunningServer, canned_responder, http_proxy, socks5_proxy

CHAT = "/v1/chat/completions"
AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
PROXY_USER, PROXY_PASSWORD = "proxy-user", "proxy-pass-0123456789-secret"
Publish = Callable[[Snapshot], Coroutine[Any, Any, int]]


def _proxy(kind: str, server: RunningServer, *, host: str = "127.0.0.1", credentials: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "host": host, "port": server.port}
    if credentials:
        entry |= {"username": PROXY_USER, "password": PROXY_PASSWORD}
    return entry


def _snapshot(base_url: str, version: int, proxy: dict[str, Any] | None = None, provider: str = "openai") -> Snapshot:
    return Snapshot(
        version=version,
        published_at=time.time(),
        connections=(
            ConnectionConfig(
                id="11111111-1111-1111-1111-111111111111",
                provider=provider,
                name="main",
                api_key=UPSTREAM_KEY,
                base_url=base_url,
            ),
        ),
        keys=(KeyConfig(id="22222222-2222-2222-2222-222222222222", name="client", key_hash=hash_api_key(CLIENT_KEY)),),
        settings={"proxy": proxy} if proxy is not None else {},
    )


def _chat(model: str = "openai/gpt-4o-mini") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hello through the proxy"}]}


@asynccontextmanager
async def _edge(settings: Settings, *, allow_private: bool = True) -> AsyncIterator[AsyncTestClient]:
    tuned = replace(
        settings,
        allow_private_upstreams=allow_private,
        timeouts=replace(settings.timeouts, connect=2.0, first_byte=3.0),
    )
    async with AsyncTestClient(app=create_app(tuned)) as client:
        yield client


def _state(client: AsyncTestClient) -> EdgeState:
    state: EdgeState = client.app.state.edge
    return state


def _assert_clean_502(response: Any, code: str | None = None) -> None:
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code
    for secret in (PROXY_PASSWORD, UPSTREAM_KEY, "Traceback"):
        assert secret not in response.text


@pytest.fixture
def proxies() -> Iterator[tuple[RunningServer, RunningServer]]:
    with http_proxy() as http, socks5_proxy() as socks:
        yield http, socks


async def test_global_http_proxy_carries_the_upstream_calls(
    settings: Settings, publish: Publish, fake_upstream: str, proxies: tuple[RunningServer, RunningServer]
) -> None:
    http, socks = proxies
    await publish(_snapshot(f"{fake_upstream}/v1", 3, {"global": _proxy("http", http)}))
    async with _edge(settings) as edge:
        for _ in range(3):
            response = await edge.post(CHAT, json=_chat(), headers=AUTH)
            assert response.status_code == 200, response.text
    assert http.log.connections >= 1
    assert http.log.targets and all(target == fake_upstream.removeprefix("http://") for target in http.log.targets)
    assert len(http.log.targets) == 3  # every request went through it (on pooled proxy connections)
    assert socks.log.connections == 0


async def test_global_socks5_proxy_carries_the_upstream_calls(
    settings: Settings, publish: Publish, fake_upstream: str, proxies: tuple[RunningServer, RunningServer]
) -> None:
    http, socks = proxies
    await publish(_snapshot(f"{fake_upstream}/v1", 3, {"global": _proxy("socks5", socks)}))
    async with _edge(settings) as edge:
        for stream in (False, True):
            response = await edge.post(CHAT, json=_chat() | {"stream": stream}, headers=AUTH)
            assert response.status_code == 200, response.text
    assert socks.log.connections >= 1
    assert socks.log.targets[0] == fake_upstream.removeprefix("http://")
    assert http.log.connections == 0


async def test_a_provider_entry_overrides_the_global_proxy(
    settings: Settings, publish: Publish, fake_upstream: str, proxies: tuple[RunningServer, RunningServer]
) -> None:
    http, socks = proxies
    table = {"global": _proxy("http", http), "providers": {"openai": _proxy("socks5", socks)}}
    await publish(_snapshot(f"{fake_upstream}/v1", 3, table))
    async with _edge(settings) as edge:
        assert (await edge.post(CHAT, json=_chat(), headers=AUTH)).status_code == 200
    assert socks.log.connections == 1
    assert http.log.connections == 0


async def test_none_forces_a_direct_connection(
    settings: Settings, publish: Publish, fake_upstream: str, proxies: tuple[RunningServer, RunningServer]
) -> None:
    http, socks = proxies
    table = {"global": _proxy("socks5", socks), "providers": {"openai": {"type": "none"}}}
    await publish(_snapshot(f"{fake_upstream}/v1", 3, table))
    async with _edge(settings) as edge:
        assert (await edge.post(CHAT, json=_chat(), headers=AUTH)).status_code == 200
        assert _state(edge).upstreams.proxies == frozenset()
    assert socks.log.connections == 0
    assert http.log.connections == 0


@pytest.mark.parametrize("kind", ["http", "socks5"])
async def test_proxy_credentials_are_sent(settings: Settings, publish: Publish, fake_upstream: str, kind: str) -> None:
    serve = http_proxy if kind == "http" else socks5_proxy
    with serve(PROXY_USER, PROXY_PASSWORD) as proxy:
        await publish(_snapshot(f"{fake_upstream}/v1", 3, {"global": _proxy(kind, proxy, credentials=True)}))
        async with _edge(settings) as edge:
            response = await edge.post(CHAT, json=_chat(), headers=AUTH)
        assert response.status_code == 200, response.text
        assert f"{PROXY_USER}:{PROXY_PASSWORD}" in proxy.log.credentials
        assert proxy.log.refused == 0


@pytest.mark.parametrize("kind", ["http", "socks5"])
async def test_wrong_proxy_credentials_are_a_clean_502(
    settings: Settings, publish: Publish, fake_upstream: str, kind: str
) -> None:
    serve = http_proxy if kind == "http" else socks5_proxy
    with serve(PROXY_USER, "another-password") as proxy:
        await publish(_snapshot(f"{fake_upstream}/v1", 3, {"global": _proxy(kind, proxy, credentials=True)}))
        async with _edge(settings) as edge:
            response = await edge.post(CHAT, json=_chat(), headers=AUTH)
        _assert_clean_502(response, "upstream_proxy_auth_failed")
        assert proxy.log.refused >= 1


async def test_an_https_target_is_tunnelled_with_connect_and_the_credentials_stay_on_the_connect(
    settings: Settings, publish: Publish
) -> None:
    # The target speaks plain HTTP, so TLS fails after the tunnel is up: enough to see the CONNECT
    # carry the credentials, and the target receive only TLS bytes (never a Proxy-Authorization).
    with http_proxy(PROXY_USER, PROXY_PASSWORD) as proxy, canned_responder(200) as target:
        await publish(
            _snapshot(f"https://127.0.0.1:{target.port}/v1", 3, {"global": _proxy("http", proxy, credentials=True)})
        )
        async with _edge(settings) as edge:
            response = await edge.post(CHAT, json=_chat(), headers=AUTH)
        assert response.status_code in (502, 504), response.text
        assert PROXY_PASSWORD not in response.text
        assert f"127.0.0.1:{target.port}" in proxy.log.targets
        assert proxy.log.credentials[0] == f"{PROXY_USER}:{PROXY_PASSWORD}"
        assert target.log.connections >= 1
        assert target.log.targets == []  # no plain HTTP request (with or without credentials) reached it


async def test_socks5h_lets_the_proxy_resolve_names_and_socks5_resolves_locally(
    settings: Settings, publish: Publish, fake_upstream: str, proxies: tuple[RunningServer, RunningServer]
) -> None:
    _, socks = proxies
    by_name = fake_upstream.replace("127.0.0.1", "localhost") + "/v1"
    await publish(_snapshot(by_name, 3, {"global": _proxy("socks5h", socks)}))
    async with _edge(settings) as edge:
        assert (await edge.post(CHAT, json=_chat(), headers=AUTH)).status_code == 200
    assert socks.log.domain_targets == 1
    assert socks.log.targets[-1].startswith("localhost:")

    await publish(_snapshot(by_name, 4, {"global": _proxy("socks5", socks)}))
    async with _edge(settings) as edge:
        assert (await edge.post(CHAT, json=_chat(), headers=AUTH)).status_code == 200
    assert socks.log.domain_targets == 1  # the second tunnel named an address
    assert not socks.log.targets[-1].startswith("localhost:")


async def test_an_unreachable_proxy_is_a_clean_502(settings: Settings, publish: Publish, fake_upstream: str) -> None:
    with socks5_proxy() as socks:
        closed = socks.port
    await publish(
        _snapshot(f"{fake_upstream}/v1", 3, {"global": {"type": "socks5", "host": "127.0.0.1", "port": closed}})
    )
    async with _edge(settings) as edge:
        _assert_clean_502(await edge.post(CHAT, json=_chat(), headers=AUTH), "upstream_unreachable")


async def test_a_new_snapshot_lets_go_of_proxies_it_no_longer_names(
    settings: Settings, publish: Publish, fake_upstream: str, proxies: tuple[RunningServer, RunningServer]
) -> None:
    http, socks = proxies
    await publish(_snapshot(f"{fake_upstream}/v1", 3, {"global": _proxy("socks5", socks)}))
    async with _edge(settings) as edge:
        assert (await edge.post(CHAT, json=_chat(), headers=AUTH)).status_code == 200
        clients = _state(edge).upstreams
        assert {proxy.port for proxy in clients.proxies} == {socks.port}
        await publish(_snapshot(f"{fake_upstream}/v1", 4, {"global": _proxy("http", http)}))
        deadline = time.monotonic() + 5
        while _state(edge).holder.current.version < 4 and time.monotonic() < deadline:
            await edge.get("/healthz")
        assert _state(edge).holder.current.version == 4
        assert clients.proxies == frozenset()  # the SOCKS session is retired (closed after a grace period)
        assert (await edge.post(CHAT, json=_chat(), headers=AUTH)).status_code == 200
        assert {proxy.port for proxy in clients.proxies} == {http.port}
    assert http.log.connections >= 1


# --- the connect-time guard (private upstreams not allowed) -----------------------------------


@pytest.mark.parametrize(
    ("host", "code"),
    [
        ("127.0.0.1", "upstream_address_refused"),
        ("localhost", "upstream_address_refused"),
        ("[::ffff:127.0.0.1]", "upstream_address_refused"),
        ("2130706433", "upstream_connection_error"),  # the HTTP client refuses such spellings outright
        ("127.1", "upstream_connection_error"),
    ],
)
async def test_the_guard_refuses_loopback_at_connect_time(
    settings: Settings, publish: Publish, host: str, code: str
) -> None:
    # The snapshot is published straight to Redis, as if validation had been passed when the name
    # still resolved elsewhere (DNS rebinding): the edge still refuses to open the socket.
    with canned_responder(200) as upstream:
        await publish(_snapshot(f"http://{host}:{upstream.port}/v1", 3))
        async with _edge(settings, allow_private=False) as edge:
            response = await edge.post(CHAT, json=_chat(), headers=AUTH)
        _assert_clean_502(response, code)
        assert upstream.log.connections == 0


@pytest.mark.parametrize("kind", ["http", "socks5", "socks5h"])
async def test_the_guard_refuses_a_proxy_on_a_private_address(
    settings: Settings, publish: Publish, fake_upstream: str, kind: str
) -> None:
    serve = http_proxy if kind == "http" else socks5_proxy
    with serve() as proxy:
        await publish(_snapshot("https://api.openai.com/v1", 3, {"global": _proxy(kind, proxy, host="localhost")}))
        async with _edge(settings, allow_private=False) as edge:
            response = await edge.post(CHAT, json=_chat(), headers=AUTH)
        _assert_clean_502(response)
        assert proxy.log.connections == 0


async def test_the_guard_is_lifted_by_allow_private(settings: Settings, publish: Publish) -> None:
    with canned_responder(500) as upstream:
        await publish(_snapshot(f"http://localhost:{upstream.port}/v1", 3))
        async with _edge(settings, allow_private=True) as edge:
            response = await edge.post(CHAT, json=_chat(), headers=AUTH)
        assert response.status_code == 502
        assert upstream.log.connections >= 1


async def test_redirects_to_private_or_metadata_addresses_are_never_followed(
    settings: Settings, publish: Publish
) -> None:
    # Private upstreams allowed (the redirecting server is on loopback), so only the no-redirect
    # rule stands between the 302 and the canary.
    with canned_responder(200) as canary:
        for version, location in enumerate(
            (f"http://127.0.0.1:{canary.port}/latest/meta-data/", "http://169.254.169.254/latest/meta-data/"), 3
        ):
            with canned_responder(302, (("Location", location),)) as redirecting:
                await publish(_snapshot(f"http://127.0.0.1:{redirecting.port}/v1", version))
                async with _edge(settings, allow_private=True) as edge:
                    response = await edge.post(CHAT, json=_chat(), headers=AUTH)
                assert response.status_code >= 400
                assert "meta-data" not in response.text
                assert redirecting.log.connections >= 1
        assert canary.log.connections == 0
