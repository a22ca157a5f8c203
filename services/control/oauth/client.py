"""Sending to a provider's OAuth endpoints from the control plane (reading the answers: shared/oauth/client.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from services.control.outbound import outbound_session
from shared.oauth.client import (
    FORM_HEADERS,
    MAX_ANSWER_BYTES,
    TOTAL_SECONDS,
    OAuthEndpointError,
    OAuthGrantError,
    TokenSet,
    endpoint,
    read_answer,
    token_set,
)

__all__ = ["OAuthEndpointError", "OAuthGrantError", "TokenSet", "endpoint", "post_form", "token_set"]

_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5)


async def post_form(url: str, form: dict[str, str], *, allow_private: bool) -> dict[str, Any]:
    """POST the form; the JSON answer on 2xx, OAuthGrantError on an OAuth error answer.

    Through the guarded outbound session: every socket is vetted as it opens (DNS rebinding).
    """
    try:
        async with (
            asyncio.timeout(TOTAL_SECONDS),
            outbound_session(allow_private=allow_private, decompress=True) as outbound,
            outbound.session.post(
                url, data=form, timeout=_TIMEOUT, **outbound.request_options(url, FORM_HEADERS)
            ) as response,
        ):
            raw = await response.content.read(MAX_ANSWER_BYTES + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise OAuthEndpointError(f"the OAuth endpoint is unreachable ({type(exc).__name__})") from None
    return read_answer(status, raw)
