"""The sealed bundle: the configuration records as JSON, encrypted with AES-256-GCM.

The key comes from the sync passphrase through scrypt with a fresh salt per bundle; the header
(format, bundle version, KDF parameters, nonce) is the associated data, so changing the version or
any other header field makes the bundle fail to open, as does any change to the ciphertext.
Credentials travel in plaintext inside the encrypted payload and are re-encrypted with the
receiving install's own storage key: ciphertext made with one install's key never travels.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import jsonx

__all__ = ["MAX_BUNDLE_BYTES", "BundleError", "OpenedBundle", "open_bundle", "peek_version", "seal_bundle"]

FORMAT = "omniroute-sync/1"
MAX_BUNDLE_BYTES = 32 * 1024 * 1024
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class BundleError(ValueError):
    """The bundle is malformed, made with another passphrase, or was changed after sealing."""


@dataclass(frozen=True, slots=True)
class OpenedBundle:
    version: int
    records: list[dict[str, Any]]


def _key(passphrase: str, salt: bytes) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=salt, dklen=32, maxmem=64 * 1024 * 1024, **_SCRYPT)


def _aad(header: dict[str, Any]) -> bytes:
    kdf = header["kdf"]
    fields = (header["format"], header["version"], kdf["name"], kdf["salt"], kdf["n"], kdf["r"], kdf["p"])
    return "|".join(str(f) for f in (*fields, header["nonce"])).encode()


def seal_bundle(records: list[dict[str, Any]], version: int, passphrase: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": FORMAT,
        "version": version,
        "kdf": {"name": "scrypt", "salt": base64.b64encode(salt).decode(), **_SCRYPT},
        "nonce": base64.b64encode(nonce).decode(),
    }
    plaintext = jsonx.dumps({"records": records})
    ciphertext = AESGCM(_key(passphrase, salt)).encrypt(nonce, plaintext, _aad(header))
    return jsonx.dumps({**header, "ciphertext": base64.b64encode(ciphertext).decode()})


def _header(blob: bytes) -> dict[str, Any]:
    if len(blob) > MAX_BUNDLE_BYTES:
        raise BundleError("the bundle is too large")
    try:
        document = jsonx.loads(blob)
    except ValueError:
        raise BundleError("the bundle is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BundleError(f"the bundle is not an {FORMAT} bundle")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise BundleError("the bundle version must be a non-negative integer")
    kdf = document.get("kdf")
    # Fixed KDF parameters: a hostile bundle cannot make us spend seconds or gigabytes in scrypt.
    if not isinstance(kdf, dict) or {k: kdf.get(k) for k in _SCRYPT} != _SCRYPT or kdf.get("name") != "scrypt":
        raise BundleError("the bundle's key derivation parameters are not supported")
    if set(document) != {"format", "version", "kdf", "nonce", "ciphertext"} or set(kdf) != {"name", "salt", *_SCRYPT}:
        raise BundleError("the bundle has unknown fields")
    return document


def peek_version(blob: bytes) -> int:
    """The (unauthenticated) version a bundle claims; `open_bundle` authenticates it."""
    version: int = _header(blob)["version"]
    return version


def open_bundle(blob: bytes, passphrase: str) -> OpenedBundle:
    document = _header(blob)
    try:
        salt = base64.b64decode(document["kdf"]["salt"], validate=True)
        nonce = base64.b64decode(document["nonce"], validate=True)
        ciphertext = base64.b64decode(document["ciphertext"], validate=True)
    except (ValueError, TypeError):
        raise BundleError("the bundle's encoding is broken") from None
    if len(salt) != 16 or len(nonce) != 12:
        raise BundleError("the bundle's salt or nonce has the wrong length")
    header = {k: v for k, v in document.items() if k != "ciphertext"}
    try:
        plaintext = AESGCM(_key(passphrase, salt)).decrypt(nonce, ciphertext, _aad(header))
    except Exception:
        raise BundleError("the bundle does not authenticate (tampered, or another passphrase)") from None
    payload = jsonx.loads(plaintext)
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise BundleError("the bundle's payload has no record list")
    return OpenedBundle(version=document["version"], records=records)
