"""Secrets at rest, API keys, password hashes and signed session tokens.

- Field encryption: AES-256-GCM with a key derived (HKDF-SHA256) from STORAGE_ENCRYPTION_KEY per
  purpose, and associated data binding a ciphertext to its row, so values cannot be swapped.
- API keys: 256 bits of randomness; only their SHA-256 is stored.
- Passwords: scrypt with a per-hash salt.
- Session tokens: HMAC-SHA256 signed, expiring.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared import jsonx

__all__ = [
    "API_KEY_PREFIX",
    "DecryptionError",
    "FieldCipher",
    "TokenError",
    "generate_api_key",
    "hash_api_key",
    "hash_password",
    "mask_secret",
    "sign_token",
    "verify_password",
    "verify_token",
]

API_KEY_PREFIX = "sk-omni-"
_ENC_VERSION = b"v1"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class DecryptionError(ValueError):
    """A ciphertext was tampered with, moved to another row, or made with another key."""


class TokenError(ValueError):
    """A session token is malformed, forged or expired."""


def _derive(master: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"omniroute", info=purpose.encode())
    return hkdf.derive(master.encode())


class FieldCipher:
    """Encrypts small secrets; `aad` ties a ciphertext to what it belongs to (e.g. a row id)."""

    __slots__ = ("_aead",)

    def __init__(self, master_key: str, purpose: str) -> None:
        self._aead = AESGCM(_derive(master_key, purpose))

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return _ENC_VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes = b"") -> bytes:
        if len(blob) < 2 + 12 + 16 or blob[:2] != _ENC_VERSION:
            raise DecryptionError("not an OmniRoute ciphertext")
        try:
            return self._aead.decrypt(blob[2:14], blob[14:], aad)
        except Exception:
            raise DecryptionError("ciphertext does not authenticate") from None

    def encrypt_text(self, plaintext: str, aad: str = "") -> bytes:
        return self.encrypt(plaintext.encode(), aad.encode())

    def decrypt_text(self, blob: bytes, aad: str = "") -> str:
        return self.decrypt(blob, aad.encode()).decode()


def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(raw_key: str) -> str:
    """Hex SHA-256: keys carry 256 random bits, so a fast hash is safe and lookups stay O(1)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def mask_secret(value: str | None) -> str | None:
    """Show enough to recognise a secret, never enough to use it."""
    if not value:
        return value
    if len(value) <= 12:
        return "*" * len(value)
    return f"{value[:6]}…{value[-4:]}"


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    encoded_salt, encoded_digest = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encoded_salt}${encoded_digest}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest_b64)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(claims: dict[str, object], secret: str, ttl_seconds: int) -> str:
    body = dict(claims)
    body["exp"] = int(time.time()) + ttl_seconds
    payload = _b64(jsonx.dumps(body))
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def verify_token(token: str, secret: str) -> dict[str, object]:
    try:
        payload, signature = token.split(".")
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_unb64(signature), expected):
            raise TokenError("bad signature")
        claims = jsonx.loads(_unb64(payload))
    except (ValueError, TypeError) as exc:
        raise TokenError("malformed token") from exc
    if not isinstance(claims, dict):
        raise TokenError("malformed token")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp < time.time():
        raise TokenError("expired token")
    return claims
