"""PKCE (RFC 7636, S256) and the random values an OAuth flow needs."""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["challenge_of", "new_state", "new_verifier"]


def new_verifier() -> str:
    """43-128 characters of [A-Za-z0-9-._~]; 64 random bytes give 86."""
    return secrets.token_urlsafe(64)


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    return secrets.token_urlsafe(32)
