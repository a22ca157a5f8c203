"""Testing a proxy: one GET through it to a target URL, reported as ok / latency / a fixed error.

Nothing the proxy or the target says is echoed back (no bodies, no exception text): the answer
is a status code and one of a few fixed messages, so neither credentials nor internal pages leak.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import msgspec

from services.outbound.session import outbound_session
from shared.connect_guard import BlockedAddress
from shared.outbound_proxy import OutboundProxy

__all__ = ["ProbeResult", "probe"]


class ProbeResult(msgspec.Struct, kw_only=True, rename="camel"):
    """`ok`: the target answered through the proxy (any HTTP status); `status`: that status."""

    ok: bool
    latency_ms: int
    url: str
    proxy: str | None  # the proxy's URL without credentials; None for a direct test
    status: int | None = None
    code: str | None = None
    error: str | None = None


_PROXY_AUTH = "the proxy refused the credentials (407)"


def _failure(exc: BaseException, timeout: float) -> tuple[str, str]:
    """(code, message) for a failed probe: fixed texts only."""
    if isinstance(exc, TimeoutError):
        return "timeout", f"no answer within {timeout:g} s"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        if exc.status == 407:
            return "proxy_auth_failed", _PROXY_AUTH
        return "proxy_error", f"the proxy refused the tunnel ({exc.status})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error
        if isinstance(reason, BlockedAddress):
            return "address_refused", "refused: the address is loopback, private, link-local or metadata"
        if isinstance(exc, aiohttp.ClientProxyConnectionError):
            if "auth" in str(reason).lower():
                return "proxy_auth_failed", "the proxy refused the credentials"
            return "proxy_unreachable", "could not connect through the proxy"
        return "unreachable", "could not connect to the target"
    return "connection_failed", "the connection failed"


async def probe(proxy: OutboundProxy | None, url: str, *, allow_private: bool, within: float) -> ProbeResult:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    shown = proxy.url if proxy is not None else None
    try:
        async with (
            asyncio.timeout(within),
            outbound_session(allow_private=allow_private, proxy=proxy) as out,
            out.session.get(url, **out.request_options(url)) as response,
        ):
            status = response.status
    except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
        code, message = _failure(exc, within)
        return ProbeResult(ok=False, latency_ms=elapsed(), url=url, proxy=shown, code=code, error=message)
    if status == 407 and proxy is not None:  # a plain-HTTP target: the proxy answers for itself
        return ProbeResult(
            ok=False,
            latency_ms=elapsed(),
            url=url,
            proxy=shown,
            status=status,
            code="proxy_auth_failed",
            error=_PROXY_AUTH,
        )
    return ProbeResult(ok=True, latency_ms=elapsed(), url=url, proxy=shown, status=status)
