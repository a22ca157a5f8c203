"""Calls to a provider (connection tests, model lists, health probes) and to OAuth token endpoints.

Each call opens a short-lived guarded session (services/outbound/session.py) with the edge's
rules: no redirects followed (one could carry our credentials elsewhere), no proxy settings from
the environment, the provider's configured outbound proxy, bounded answers, and, unless
OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS is set, every socket vetted as it opens, so a DNS answer that
changed since the URL was checked (rebinding) cannot reach an internal address either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict

from services.outbound.session import outbound_session
from shared.canonical.errors import GatewayError, UpstreamError, UpstreamTimeout
from shared.connect_guard import BlockedAddress
from shared.netguard import UnsafeURL, check_url
from shared.oauth import client as oauth_client
from shared.outbound_proxy import OutboundProxy

__all__ = ["Answer", "fetch", "post_form"]

_MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive, as the dialects' classifiers expect
    body: bytes


async def _read(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > _MAX_BODY:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress) or isinstance(getattr(seen, "os_error", None), BlockedAddress):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def fetch(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    *,
    connect_timeout: float,
    total_timeout: float,
    allow_private: bool,
    proxy: OutboundProxy | None = None,
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
            outbound_session(allow_private=allow_private, proxy=proxy, decompress=True) as outbound,
        ):
            options = outbound.request_options(url, dict(headers))
            async with outbound.session.request(method, url, data=body, timeout=timeout, **options) as response:
                return Answer(response.status, CIMultiDict(response.headers), await _read(response))
    except TimeoutError:
        raise UpstreamTimeout("The upstream provider did not answer in time.", code="upstream_timeout") from None
    except (aiohttp.ClientError, OSError) as exc:
        if _refused(exc):
            raise GatewayError(
                "the upstream host resolves to a refused address", status=400, code="unsafe_url"
            ) from None
        if isinstance(exc, aiohttp.ClientProxyConnectionError):
            raise UpstreamError("Could not connect through the outbound proxy.", code="upstream_proxy_error") from None
        if isinstance(exc, aiohttp.ClientConnectorError):
            raise UpstreamError("Could not connect to the upstream provider.", code="upstream_unreachable") from None
        raise UpstreamError(
            "The connection to the upstream provider failed.", code="upstream_connection_error"
        ) from None


async def post_form(url: str, form: dict[str, str], *, allow_private: bool) -> dict[str, Any]:
    """An OAuth endpoint POST (shared/oauth/client.py `FormPoster`): guarded, no redirects, bounded."""
    timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5)
    try:
        async with (
            asyncio.timeout(oauth_client.TOTAL_SECONDS),
            outbound_session(allow_private=allow_private, decompress=True) as outbound,
            outbound.session.post(
                url, data=form, timeout=timeout, **outbound.request_options(url, oauth_client.FORM_HEADERS)
            ) as response,
        ):
            raw = await response.content.read(oauth_client.MAX_ANSWER_BYTES + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise oauth_client.OAuthEndpointError(f"the OAuth endpoint is unreachable ({type(exc).__name__})") from None
    return oauth_client.read_answer(status, raw)
