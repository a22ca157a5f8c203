"""Talking to a provider's OAuth endpoints: endpoint URLs, reading token answers, the errors.

Form-encoded POSTs as RFC 6749/8628/7009 define them, JSON answers asked for (GitHub answers
form-encoded otherwise), no redirects followed, small bodies, short timeouts. Overridden endpoint
URLs pass the SSRF guard first. Errors carry the provider's `error` code and never a token.
Sending is each service's own (`FormPoster`; shared/ holds no HTTP client); reading the answer
is here, so the control plane and the workers read it alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from shared import jsonx
from shared.netguard import UnsafeURL, check_url
from shared.oauth.registry import OAuthProvider

__all__ = [
    "FORM_HEADERS",
    "MAX_ANSWER_BYTES",
    "TOTAL_SECONDS",
    "FormPoster",
    "OAuthEndpointError",
    "OAuthGrantError",
    "TokenSet",
    "endpoint",
    "read_answer",
    "token_set",
]

TOTAL_SECONDS = 15
MAX_ANSWER_BYTES = 1024 * 1024
FORM_HEADERS = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}


class OAuthEndpointError(Exception):
    """The provider could not be reached or answered something that is not OAuth."""


class OAuthGrantError(Exception):
    """The provider refused the request with an OAuth error code (invalid_grant, slow_down, ...)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


class FormPoster(Protocol):
    """POST the form through a guarded session; the JSON answer on 2xx (via `read_answer`)."""

    async def __call__(self, url: str, form: dict[str, str], *, allow_private: bool) -> dict[str, Any]: ...


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


def read_answer(status: int, raw: bytes) -> dict[str, Any]:
    """The answer of an OAuth endpoint (at most MAX_ANSWER_BYTES + 1 bytes read): its JSON object on
    2xx; OAuthGrantError on an OAuth error answer; OAuthEndpointError on anything else."""
    if len(raw) > MAX_ANSWER_BYTES:
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
