"""A SOCKS5 connector (aiohttp-socks) that vets the proxy's address and, with local DNS, the
target's, pinning each for the connect: the connect-time SSRF guard (shared.connect_guard) for
SOCKS proxies. The edge pools it per proxy; the control plane and the workers open one per call.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError, ProxyType
from python_socks import ProxyConnectionError as SocksConnectionError
from python_socks import ProxyError as SocksError
from python_socks import ProxyTimeoutError as SocksTimeoutError
from python_socks.async_.asyncio.v2 import Proxy

from shared.connect_guard import vetted_address
from shared.outbound_proxy import OutboundProxy

__all__ = ["GuardedSocksConnector"]


class _VettingResolver:
    """python-socks' resolver interface, answering only vetted addresses."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> tuple[int, str]:
        return await vetted_address(host, port, family=family)


class _SocksResponseHandler(ResponseHandler):
    """Holds the stream writer so the transport is not closed when the writer is collected."""

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter) -> None:
        super().__init__(loop)
        self._writer = writer


class GuardedSocksConnector(ProxyConnector):
    """aiohttp-socks' connector, with the proxy's and (for local DNS) the target's address vetted and
    pinned at connect time, and SOCKS failures raised as aiohttp connection errors."""

    def __init__(self, proxy: OutboundProxy, *, guard: bool, **connector_options: Any) -> None:
        super().__init__(
            host=proxy.host,
            port=proxy.port,
            proxy_type=ProxyType.SOCKS5,
            username=proxy.username,
            password=proxy.password,
            rdns=proxy.remote_dns,
            **connector_options,
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
            _, proxy_host = await vetted_address(self._proxy_host, self._proxy_port)  # pinned for this connect
        proxy = Proxy(
            proxy_type=ProxyType.SOCKS5,
            host=proxy_host,
            port=self._proxy_port,
            username=self._proxy_username,
            password=self._proxy_password,
            rdns=self._rdns,
        )
        if self._guard and not self._rdns:
            # Local DNS for the target: python-socks resolves it itself, so hand it a vetting resolver.
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
            # Messages name the proxy's host and port at most, never its credentials.
            reason = exc if isinstance(exc, OSError) and not isinstance(exc, TimeoutError) else OSError(str(exc))
            raise aiohttp.ClientProxyConnectionError(req.connection_key, reason) from None
