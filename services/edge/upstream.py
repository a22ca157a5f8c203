"""The pooled upstream HTTP client (aiohttp) and one attempt against one target.

One session per process, keep-alive pools per host, no redirects followed (a redirect could
carry our credentials elsewhere), no client-side retries (the dispatcher owns those), and
per-attempt connect / first-byte / idle timeouts.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import aiohttp

from services.edge.resolver_guard import PublicOnlyResolver
from shared.canonical.errors import GatewayError, UpstreamError, UpstreamTimeout
from shared.settings import Timeouts

__all__ = ["UpstreamResponse", "create_session", "iter_chunks", "open_attempt", "read_body"]

UpstreamResponse = aiohttp.ClientResponse

_MAX_ERROR_BODY = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


def create_session(allow_private: bool = True) -> aiohttp.ClientSession:
    """`allow_private=False` (production) refuses private addresses again when connecting."""
    connector = aiohttp.TCPConnector(
        resolver=None if allow_private else PublicOnlyResolver(),
        limit=0,  # concurrency is governed by the gateway's own limits, not the pool
        ttl_dns_cache=60,
        keepalive_timeout=60,
        enable_cleanup_closed=True,
        family=socket.AF_UNSPEC,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
        trust_env=False,
    )


async def open_attempt(
    session: aiohttp.ClientSession,
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
    try:
        async with asyncio.timeout(timeouts.first_byte):
            response = await session.post(url, data=body, headers=list(headers), allow_redirects=False, timeout=timeout)
    except TimeoutError:
        raise UpstreamTimeout(
            "The upstream provider did not answer in time.", code="upstream_first_byte_timeout"
        ) from None
    except aiohttp.ClientConnectorError:
        raise UpstreamError("Could not connect to the upstream provider.", code="upstream_unreachable") from None
    except (aiohttp.ClientError, OSError):
        raise UpstreamError(
            "The connection to the upstream provider failed.", code="upstream_connection_error"
        ) from None
    if response.status >= 300:
        try:
            raw = await _read_capped(response, _MAX_ERROR_BODY, timeouts.idle)
        except GatewayError:
            raw = b""
        finally:
            response.release()
        raise classify(response.status, response.headers, raw)
    return response


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
