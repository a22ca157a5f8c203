"""Client authentication at the edge, entirely from the in-memory snapshot (no I/O).

A key may arrive as `Authorization: Bearer`, `x-api-key` (Anthropic), `x-goog-api-key` or
`?key=` (Gemini). Keys are compared by SHA-256 digest lookup; the raw key is never stored.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from fnmatch import fnmatchcase
from urllib.parse import parse_qs

from shared.canonical.errors import AuthenticationError, PermissionDenied
from shared.config.snapshot import KeyConfig
from shared.crypto import hash_api_key
from shared.routing.config import EdgeConfig

__all__ = ["authenticate", "check_model_allowed", "presented_key"]


def presented_key(headers: Mapping[str, str], query_string: bytes) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    for name in ("x-api-key", "x-goog-api-key"):
        value = headers.get(name)
        if value:
            return value.strip()
    if query_string and b"key=" in query_string:
        values = parse_qs(query_string.decode("latin-1")).get("key")
        if values and values[0]:
            return values[0]
    return None


def authenticate(
    headers: Mapping[str, str], query_string: bytes, config: EdgeConfig, require_key: bool
) -> KeyConfig | None:
    """The caller's key, None for anonymous use when keys are not required; raises 401 otherwise."""
    raw = presented_key(headers, query_string)
    if raw is None:
        if require_key:
            raise AuthenticationError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", code="missing_api_key"
            )
        return None
    key = config.keys_by_hash.get(hash_api_key(raw))
    if key is None:
        if require_key:
            raise AuthenticationError("Incorrect API key provided.", code="invalid_api_key")
        return None
    if key.expires_at is not None and key.expires_at <= time.time():
        raise AuthenticationError("This API key has expired.", code="expired_api_key")
    return key


def check_model_allowed(key: KeyConfig | None, model: str) -> None:
    if key is None or not key.allowed_models:
        return
    if not any(fnmatchcase(model, pattern) for pattern in key.allowed_models):
        raise PermissionDenied(f"This API key may not use the model '{model[:200]}'.", code="model_not_allowed")
