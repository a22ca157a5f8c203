"""The edge's upstream clients: the direct path stays one attribute read; proxies are pooled."""

from __future__ import annotations

import pytest

from services.edge.upstream import UpstreamClients
from services.outbound.socks import _VettingResolver
from shared.connect_guard import BlockedAddress
from shared.outbound_proxy import OutboundProxy

HTTP = OutboundProxy("http", "proxy.example", 3128, "user", "secret")
SOCKS = OutboundProxy("socks5", "socks.example", 1080)


async def test_no_proxy_is_the_direct_session_itself() -> None:
    clients = UpstreamClients(allow_private=False)
    try:
        assert clients.via(None) is clients.direct
        assert clients.direct.proxy is None and clients.direct.proxy_authorization is None
    finally:
        await clients.close()


async def test_http_proxies_share_the_direct_pool_and_socks_proxies_get_their_own() -> None:
    clients = UpstreamClients(allow_private=False)
    try:
        http = clients.via(HTTP)
        assert http.session is clients.direct.session
        assert http.proxy == "http://proxy.example:3128"
        assert http.proxy_authorization is not None and http.proxy_authorization.startswith("Basic ")
        socks = clients.via(SOCKS)
        assert socks.session is not clients.direct.session
        assert socks.proxy is None
        assert clients.via(SOCKS) is socks  # created once, then reused
        assert clients.proxies == {HTTP, SOCKS}
    finally:
        await clients.close()


async def test_retain_forgets_dropped_proxies_and_closes_their_sessions_later() -> None:
    clients = UpstreamClients(allow_private=False, retire_after=0.0)
    socks_session = clients.via(SOCKS).session
    clients.retain({HTTP})
    assert clients.proxies == frozenset()
    await clients.close()
    assert socks_session.closed
    assert clients.direct.session.closed


async def test_the_socks_resolver_refuses_names_of_private_addresses() -> None:
    with pytest.raises(BlockedAddress):
        await _VettingResolver().resolve("localhost", 443)
