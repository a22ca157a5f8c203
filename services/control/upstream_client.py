"""Calls from the control plane to a provider (connection tests, model lists), SSRF-guarded.

The edge owns the hot path's pooled client; these calls are rare, so each opens a short-lived
session with the same rules as the edge's: no redirects followed (one could carry our
credentials elsewhere), no proxy settings from the environment, bounded answers. On top, unless
OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS is set, the resolver refuses names that resolve to loopback,
private, link-local or metadata addresses at connect time, so a DNS answer that changed since the
URL was checked (rebinding) cannot reach them either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver
from multidict import CIMultiDict

from shared.canonical.errors import GatewayError, UpstreamError, UpstreamTimeout
from shared.netguard import UnsafeURL, check_url, is_blocked_address

__all__ = ["Answer", "fetch"]

_MAX_BODY = 8 * 1024 * 1024
_REFUSED = "the upstream host resolves to a loopback, private, link-local or metadata address"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive, as the dialects' classifiers expect
    body: bytes


class _GuardedResolver(ThreadedResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await super().resolve(host, port, family)
        for item in found:
            try:
                address = ipaddress.ip_address(str(item["host"]).split("%")[0])
            except ValueError:
                continue
            if is_blocked_address(address):
                raise OSError(_REFUSED)
        return found


def _session(allow_private: bool) -> aiohttp.ClientSession:
    resolver: Any = None if allow_private else _GuardedResolver()
    connector = aiohttp.TCPConnector(limit=4, use_dns_cache=False, resolver=resolver, force_close=True)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), trust_env=False, auto_decompress=True
    )


async def _read(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > _MAX_BODY:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    *,
    connect_timeout: float,
    total_timeout: float,
    allow_private: bool,
) -> Answer:
    """One request, answered whole; connection failures and timeouts raise the edge's own errors."""
    try:
        check_url(url, allow_private=allow_private)
    except UnsafeURL as exc:
        raise GatewayError(str(exc), status=400, code="unsafe_url") from None
    timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_connect=connect_timeout)
    try:
        async with (
            asyncio.timeout(total_timeout),
            _session(allow_private) as session,
            session.request(
                method, url, data=body, headers=list(headers), allow_redirects=False, timeout=timeout
            ) as response,
        ):
            return Answer(response.status, CIMultiDict(response.headers), await _read(response))
    except TimeoutError:
        raise UpstreamTimeout("The upstream provider did not answer in time.", code="upstream_timeout") from None
    except aiohttp.ClientConnectorError as exc:
        if _REFUSED in str(exc.os_error):
            raise GatewayError(
                "the upstream host resolves to a refused address", status=400, code="unsafe_url"
            ) from None
        raise UpstreamError("Could not connect to the upstream provider.", code="upstream_unreachable") from None
    except (aiohttp.ClientError, OSError):
        raise UpstreamError(
            "The connection to the upstream provider failed.", code="upstream_connection_error"
        ) from None
