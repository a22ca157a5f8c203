"""Talking to a provider's OAuth endpoints (token, device authorization, revocation).

Form-encoded POSTs as RFC 6749/8628/7009 define them, JSON answers asked for (GitHub answers
form-encoded otherwise), no redirects followed, small bodies, short timeouts. Overridden endpoint
URLs pass the SSRF guard first. Errors carry the provider's `error` code and never a token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from shared import jsonx
from shared.netguard import UnsafeURL, check_url
from shared.oauth.registry import OAuthProvider
from shared.outbound_session import outbound_session

__all__ = ["OAuthEndpointError", "OAuthGrantError", "TokenSet", "endpoint", "post_form", "token_set"]

_TOTAL_SECONDS = 15
_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5)
_MAX_BODY = 1024 * 1024


class OAuthEndpointError(Exception):
    """The provider could not be reached or answered something that is not OAuth."""


class OAuthGrantError(Exception):
    """The provider refused the request with an OAuth error code (invalid_grant, slow_down, ...)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: float | None  # epoch seconds
    scope: str | None


def endpoint(spec: OAuthProvider, field_name: str, allow_private: bool) -> str:
    """The URL of one endpoint; overridden ones must pass the SSRF guard."""
    url = getattr(spec, field_name)
    if not url:
        raise OAuthEndpointError(f"{spec.id} has no {field_name}")
    if field_name in spec.overridden:
        try:
            return check_url(url, allow_private=allow_private)
        except UnsafeURL as exc:
            raise OAuthEndpointError(f"{field_name} refused: {exc}") from None
    return str(url)


async def post_form(url: str, form: dict[str, str], *, allow_private: bool) -> dict[str, Any]:
    """POST the form; the JSON answer on 2xx, OAuthGrantError on an OAuth error answer.

    Through the guarded outbound session: every socket is vetted as it opens (DNS rebinding).
    """
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    try:
        async with (
            asyncio.timeout(_TOTAL_SECONDS),
            outbound_session(allow_private=allow_private, decompress=True) as outbound,
            outbound.session.post(
                url, data=form, timeout=_TIMEOUT, **outbound.request_options(url, headers)
            ) as response,
        ):
            raw = await response.content.read(_MAX_BODY + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise OAuthEndpointError(f"the OAuth endpoint is unreachable ({type(exc).__name__})") from None
    if len(raw) > _MAX_BODY:
        raise OAuthEndpointError("the OAuth endpoint answered too much")
    try:
        body = jsonx.loads(raw) if raw else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthEndpointError(f"the OAuth endpoint answered HTTP {status} without a JSON object")
    error = body.get("error")
    if isinstance(error, str) and error:
        raise OAuthGrantError(error[:64], status)
    if not 200 <= status < 300:
        raise OAuthEndpointError(f"the OAuth endpoint answered HTTP {status}")
    return body


def token_set(body: dict[str, Any]) -> TokenSet:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthEndpointError("the token answer has no access_token")
    refresh = body.get("refresh_token")
    expires_in = body.get("expires_in")
    scope = body.get("scope")
    expires_at = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        expires_at = time.time() + float(expires_in)
    return TokenSet(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at,
        scope=scope if isinstance(scope, str) and scope else None,
    )
