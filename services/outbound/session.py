"""Outbound HTTP from the control plane and the workers (proxy and provider tests, health probes,
OAuth and sync calls): guarded as the edge's is.

Every socket is vetted when it is opened (shared.connect_guard) unless private upstreams are
allowed, so a name that resolves to a private address after validation is refused; redirects are
never followed; an outbound proxy is used the way the edge uses it (`proxy=` for HTTP(S), an
aiohttp-socks connector, with the proxy's and target's addresses vetted and pinned, for SOCKS5).
The edge has its own copy of the SOCKS connector: services do not import each other.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError, ProxyType
from python_socks import ProxyConnectionError as SocksConnectionError
from python_socks import ProxyError as SocksError
from python_socks import ProxyTimeoutError as SocksTimeoutError
from python_socks.async_.asyncio.v2 import Proxy

from shared.connect_guard import guarded_socket, vetted_address
from shared.outbound_proxy import OutboundProxy

__all__ = ["Outbound", "outbound_session"]


class _VettingResolver:
    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> tuple[int, str]:
        return await vetted_address(host, port, family=family)


class _SocksResponseHandler(ResponseHandler):
    def __init__(self, loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter) -> None:
        super().__init__(loop)
        self._writer = writer  # keeps the transport open while the connection lives


class _GuardedSocksConnector(ProxyConnector):
    def __init__(self, proxy: OutboundProxy, *, guard: bool) -> None:
        super().__init__(
            host=proxy.host,
            port=proxy.port,
            proxy_type=ProxyType.SOCKS5,
            username=proxy.username,
            password=proxy.password,
            rdns=proxy.remote_dns,
            limit=4,
            force_close=True,
        )
        self._guard = guard

    async def _connect_via_proxy(
        self,
        host: str,
        port: int,
        ssl: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 (aiohttp-socks signature)
    ) -> Any:
        proxy_host = self._proxy_host
        if self._guard:
            _, proxy_host = await vetted_address(self._proxy_host, self._proxy_port)
        proxy = Proxy(
            proxy_type=ProxyType.SOCKS5,
            host=proxy_host,
            port=self._proxy_port,
            username=self._proxy_username,
            password=self._proxy_password,
            rdns=self._rdns,
        )
        if self._guard and not self._rdns:
            proxy._resolver = _VettingResolver()  # type: ignore[assignment]
        stream = await proxy.connect(dest_host=host, dest_port=port, dest_ssl=ssl, timeout=timeout)
        transport = stream.writer.transport
        protocol = _SocksResponseHandler(loop=self._loop, writer=stream.writer)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        return transport, protocol

    async def _wrap_create_connection(self, *args: Any, req: Any, **kwargs: Any) -> Any:
        try:
            return await super()._wrap_create_connection(*args, req=req, **kwargs)
        except (
            ProxyError,
            ProxyConnectionError,
            ProxyTimeoutError,
            SocksError,
            SocksConnectionError,
            SocksTimeoutError,
            OSError,
        ) as exc:
            reason = exc if isinstance(exc, OSError) and not isinstance(exc, TimeoutError) else OSError(str(exc))
            raise aiohttp.ClientProxyConnectionError(req.connection_key, reason) from None


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
        connector = _GuardedSocksConnector(proxy, guard=not allow_private)
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
