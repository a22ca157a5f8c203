"""The dashboard session: a signed, expiring token in the httpOnly `auth_token` cookie."""

from __future__ import annotations

from shared.crypto import TokenError, sign_token, verify_token

__all__ = ["COOKIE_NAME", "SESSION_SUBJECT", "issue_session", "session_is_valid"]

COOKIE_NAME = "auth_token"
SESSION_SUBJECT = "admin"


def issue_session(secret: str, ttl_seconds: int) -> str:
    return sign_token({"sub": SESSION_SUBJECT}, secret, ttl_seconds)


def session_is_valid(token: str, secret: str) -> bool:
    try:
        claims = verify_token(token, secret)
    except TokenError:
        return False
    return claims.get("sub") == SESSION_SUBJECT
