"""Outbound HTTP from the control plane and the workers (proxy and provider tests, health probes,
OAuth and sync calls): guarded as the edge's is.

Every socket is vetted when it is opened (shared.connect_guard) unless private upstreams are
allowed, so a name that resolves to a private address after validation is refused; redirects are
never followed; an outbound proxy is used the way the edge uses it (`proxy=` for HTTP(S), an
aiohttp-socks connector, with the proxy's and target's addresses vetted and pinned, for SOCKS5).
The SOCKS connector (services/outbound/socks.py) is the one the edge uses too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.outbound.socks import GuardedSocksConnector
from shared.connect_guard import guarded_socket
from shared.outbound_proxy import OutboundProxy

__all__ = ["Outbound", "outbound_session"]


@dataclass(frozen=True, slots=True)
class Outbound:
    """A session and the per-request arguments that send a request the guarded way."""

    session: aiohttp.ClientSession
    proxy: str | None = None
    proxy_authorization: str | None = None

    def request_options(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Keyword arguments for `session.request(method, url, ...)`: no redirects, through the proxy.

        Proxy credentials go on the CONNECT of an https tunnel, or on a plain-http request itself
        (for the proxy to strip), never both, so the target never sees them.
        """
        sent = dict(headers or {})
        options: dict[str, Any] = {"allow_redirects": False, "proxy": self.proxy, "headers": sent}
        if self.proxy_authorization is not None:
            if url.startswith("https:"):
                options["proxy_headers"] = {"Proxy-Authorization": self.proxy_authorization}
            else:
                sent["Proxy-Authorization"] = self.proxy_authorization
        return options


@asynccontextmanager
async def outbound_session(
    *, allow_private: bool, proxy: OutboundProxy | None = None, decompress: bool = False
) -> AsyncIterator[Outbound]:
    """A short-lived guarded session (control-plane calls are rare; nothing is pooled across them)."""
    connector: aiohttp.BaseConnector
    if proxy is not None and proxy.is_socks:
        connector = GuardedSocksConnector(proxy, guard=not allow_private, limit=4, force_close=True)
    else:
        connector = aiohttp.TCPConnector(
            limit=4, force_close=True, socket_factory=None if allow_private else guarded_socket
        )
    session = aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), trust_env=False, auto_decompress=decompress
    )
    try:
        if proxy is None or proxy.is_socks:
            yield Outbound(session)
        else:
            auth = aiohttp.encode_basic_auth(proxy.username, proxy.password or "") if proxy.username else None
            yield Outbound(session, proxy=proxy.url, proxy_authorization=auth)
    finally:
        await session.close()
