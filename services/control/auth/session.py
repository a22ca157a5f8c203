"""The dashboard session: a signed, expiring token in the httpOnly `auth_token` cookie.

The session also carries a random CSRF token. Login hands it to the dashboard twice: in the
`csrf_token` cookie (readable by the page's JavaScript, not httpOnly) and in the login answer.
A cookie-authenticated write must echo it in the `X-CSRF-Token` header; the guard compares the
header with the token *signed into the session*, so a cookie planted by a sibling subdomain or a
cross-site form (which can send cookies but cannot read them or set headers) cannot pass.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from shared.crypto import TokenError, sign_token, verify_token

__all__ = [
    "COOKIE_NAME",
    "CSRF_COOKIE_NAME",
    "CSRF_HEADER_NAME",
    "SESSION_SUBJECT",
    "IssuedSession",
    "csrf_matches",
    "issue_session",
    "session_csrf",
    "session_is_valid",
]

COOKIE_NAME = "auth_token"
CSRF_COOKIE_NAME = "csrf_token"
CSRF_HEADER_NAME = "x-csrf-token"
SESSION_SUBJECT = "admin"


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    csrf_token: str


def issue_session(secret: str, ttl_seconds: int) -> IssuedSession:
    csrf = secrets.token_urlsafe(32)
    return IssuedSession(token=sign_token({"sub": SESSION_SUBJECT, "csrf": csrf}, secret, ttl_seconds), csrf_token=csrf)


def session_csrf(token: str, secret: str) -> str | None:
    """The session's CSRF token, or None when the session token is forged, expired or not a session."""
    try:
        claims = verify_token(token, secret)
    except TokenError:
        return None
    csrf = claims.get("csrf")
    if claims.get("sub") != SESSION_SUBJECT or not isinstance(csrf, str) or not csrf:
        return None
    return csrf


def session_is_valid(token: str, secret: str) -> bool:
    return session_csrf(token, secret) is not None


def csrf_matches(expected: str, offered: str | None) -> bool:
    """Constant-time comparison of the offered header with the session's token."""
    if not offered:
        return False
    return hmac.compare_digest(expected.encode(), offered.encode())
