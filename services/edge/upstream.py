"""The pooled upstream HTTP client (aiohttp) and one attempt against one target.

One session per process, keep-alive pools per host, no redirects followed (a redirect could
carry our credentials elsewhere), no client-side retries (the dispatcher owns those), and
per-attempt connect / first-byte / idle timeouts.

Outbound proxies: an HTTP(S) proxy is a per-request `proxy=` on that same session; a SOCKS5
proxy gets a session of its own (aiohttp-socks), created on first use and closed when a snapshot
no longer names it. Unless private upstreams are allowed, every socket is vetted when it is
opened (shared.connect_guard), so a name that resolves to a private address after it was
validated is still refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.outbound.socks import GuardedSocksConnector
from shared.canonical.errors import GatewayError, UpstreamError, UpstreamTimeout
from shared.connect_guard import BlockedAddress, guarded_socket
from shared.outbound_proxy import OutboundProxy
from shared.settings import Timeouts

__all__ = [
    "UpstreamClients",
    "UpstreamResponse",
    "Via",
    "create_session",
    "iter_chunks",
    "open_attempt",
    "read_body",
]

UpstreamResponse = aiohttp.ClientResponse

_MAX_ERROR_BODY = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024
_CONNECTOR_OPTIONS: dict[str, Any] = {
    "limit": 0,  # concurrency is governed by the gateway's own limits, not the pool
    "ttl_dns_cache": 60,
    "keepalive_timeout": 60,
    "enable_cleanup_closed": True,
}


def _session(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
        trust_env=False,
    )


def create_session(*, allow_private: bool = False) -> aiohttp.ClientSession:
    """The direct session; its sockets are vetted at connect time unless private upstreams are allowed."""
    factory = None if allow_private else guarded_socket
    connector = aiohttp.TCPConnector(family=socket.AF_UNSPEC, socket_factory=factory, **_CONNECTOR_OPTIONS)
    return _session(connector)


@dataclass(frozen=True, slots=True)
class Via:
    """How to send one request: the session, and the per-request proxy arguments for HTTP proxies."""

    session: aiohttp.ClientSession
    proxy: str | None = None
    proxy_authorization: str | None = None  # "Basic ...", for an HTTP proxy that wants credentials


class UpstreamClients:
    """The direct session and one session per SOCKS proxy in use; one instance per process."""

    def __init__(self, *, allow_private: bool, retire_after: float = 600.0) -> None:
        self._allow_private = allow_private
        self._retire_after = retire_after
        self.direct = Via(create_session(allow_private=allow_private))
        self._proxied: dict[OutboundProxy, Via] = {}
        self._retiring: dict[asyncio.Task[None], aiohttp.ClientSession] = {}

    def via(self, proxy: OutboundProxy | None) -> Via:
        if proxy is None:
            return self.direct  # the hot path: no lookup, no allocation
        found = self._proxied.get(proxy)
        if found is None:
            found = self._proxied[proxy] = self._open(proxy)
        return found

    def _open(self, proxy: OutboundProxy) -> Via:
        if proxy.is_socks:
            return Via(_session(GuardedSocksConnector(proxy, guard=not self._allow_private, **_CONNECTOR_OPTIONS)))
        auth = aiohttp.encode_basic_auth(proxy.username, proxy.password or "") if proxy.username else None
        return Via(self.direct.session, proxy=proxy.url, proxy_authorization=auth)

    @property
    def proxies(self) -> frozenset[OutboundProxy]:
        return frozenset(self._proxied)

    def retain(self, wanted: Collection[OutboundProxy]) -> None:
        """Forget proxies a new snapshot no longer names; their own sessions close after a grace
        period, so streams already running through them can finish."""
        for proxy in [proxy for proxy in self._proxied if proxy not in wanted]:
            via = self._proxied.pop(proxy)
            if via.session is not self.direct.session:
                task = asyncio.get_running_loop().create_task(self._close_later(via.session))
                self._retiring[task] = via.session
                task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def _close_later(self, session: aiohttp.ClientSession) -> None:
        await asyncio.sleep(self._retire_after)
        await session.close()

    async def close(self) -> None:
        retiring = dict(self._retiring)
        for task in retiring:
            task.cancel()
        for task in retiring:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sessions = {via.session for via in self._proxied.values()} | {self.direct.session} | set(retiring.values())
        self._proxied.clear()
        for session in sessions:
            await session.close()


async def open_attempt(
    via: Via,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    timeouts: Timeouts,
    classify: Callable[[int, Mapping[str, str], bytes], GatewayError],
) -> aiohttp.ClientResponse:
    """Send the request and wait for the answer's status line and headers (the first byte).

    Returns a successful response whose body is still unread; an upstream error answer is read,
    classified by the provider dialect and raised as a GatewayError.
    """
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect, connect=timeouts.connect)
    sent, proxy_headers = list(headers), None
    if via.proxy_authorization is not None:
        # A tunnel (https) carries the credentials on CONNECT only; a plain-http request carries
        # them itself, for the proxy to strip. Never both: the provider must not see them.
        if url.startswith("https:"):
            proxy_headers = {"Proxy-Authorization": via.proxy_authorization}
        else:
            sent.append(("Proxy-Authorization", via.proxy_authorization))
    try:
        async with asyncio.timeout(timeouts.first_byte):
            response = await via.session.post(
                url,
                data=body,
                headers=sent,
                allow_redirects=False,
                timeout=timeout,
                proxy=via.proxy,
                proxy_headers=proxy_headers,
            )
    except TimeoutError:
        raise UpstreamTimeout(
            "The upstream provider did not answer in time.", code="upstream_first_byte_timeout"
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise _connection_failure(exc) from None
    if response.status >= 300:
        if response.status == 407 and via.proxy is not None:  # the proxy's own answer, not the provider's
            response.release()
            raise _proxy_refused_credentials()
        try:
            raw = await _read_capped(response, _MAX_ERROR_BODY, timeouts.idle)
        except GatewayError:
            raw = b""
        finally:
            response.release()
        raise classify(response.status, response.headers, raw)
    return response


def _connection_failure(exc: BaseException) -> UpstreamError:
    """The caller-facing error for a request that got no answer: fixed texts, nothing echoed."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, BlockedAddress):
            return _address_refused()
        if isinstance(exc, aiohttp.ClientProxyConnectionError):
            if "auth" in str(exc.os_error).lower():  # a SOCKS5 proxy refused the username/password
                return _proxy_refused_credentials()
            return UpstreamError("Could not connect through the outbound proxy.", code="upstream_unreachable")
        return UpstreamError("Could not connect to the upstream provider.", code="upstream_unreachable")
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        if exc.status == 407:
            return _proxy_refused_credentials()
        return UpstreamError("The outbound proxy refused the tunnel.", code="upstream_proxy_error")
    return UpstreamError("The connection to the upstream provider failed.", code="upstream_connection_error")


def _address_refused() -> UpstreamError:
    return UpstreamError(
        "The upstream provider's address is not allowed (loopback, private or metadata).",
        code="upstream_address_refused",
    )


def _proxy_refused_credentials() -> UpstreamError:
    return UpstreamError("The outbound proxy refused the gateway's credentials.", code="upstream_proxy_auth_failed")


async def _read_capped(response: aiohttp.ClientResponse, cap: int, idle_timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in iter_chunks(response, idle_timeout):
        size += len(chunk)
        if size > cap:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(response: aiohttp.ClientResponse, timeouts: Timeouts) -> bytes:
    try:
        async with asyncio.timeout(timeouts.total):
            body = await _read_capped(response, _MAX_BODY, timeouts.idle)
    except TimeoutError:
        raise UpstreamTimeout("The upstream provider did not finish its answer in time.") from None
    return body


async def iter_chunks(response: aiohttp.ClientResponse, idle_timeout: float) -> AsyncIterator[bytes]:
    """Body chunks as they arrive; raises UpstreamTimeout after `idle_timeout` of silence."""
    reader = response.content
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await reader.readany()
        except TimeoutError:
            raise UpstreamTimeout("The upstream provider stopped sending.", code="upstream_idle_timeout") from None
        except (aiohttp.ClientError, OSError):
            raise UpstreamError("The upstream connection broke.", code="upstream_connection_error") from None
        if not chunk:
            return
        yield chunk
