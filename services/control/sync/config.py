"""The sync configuration row: the remote (secrets encrypted with the storage key) and progress."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.control.db.types import Executor
from shared.crypto import DecryptionError, FieldCipher

__all__ = ["SyncConfig", "cloud_token_matches", "load_config"]

PASSPHRASE_AAD = "sync_state:passphrase"
REMOTE_SECRET_AAD = "sync_state:remote_secret"


@dataclass(frozen=True, slots=True)
class SyncConfig:
    remote_kind: str
    remote_public: dict[str, Any]
    remote_secret: str | None
    passphrase: str
    cloud_token_hash: str | None
    enabled: bool
    interval_seconds: int
    bundle_version: int
    remote_version: int | None
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_sync_at: datetime | None
    last_error: str | None


def sync_cipher(storage_key: str) -> FieldCipher:
    return FieldCipher(storage_key, "cloud-sync")


def _config(row: asyncpg.Record, cipher: FieldCipher) -> SyncConfig:
    secret = row["remote_secret_enc"]
    return SyncConfig(
        remote_kind=row["remote_kind"],
        remote_public=dict(row["remote_public"]),
        remote_secret=cipher.decrypt_text(secret, REMOTE_SECRET_AAD) if secret else None,
        passphrase=cipher.decrypt_text(row["passphrase_enc"], PASSPHRASE_AAD),
        cloud_token_hash=row["cloud_token_hash"],
        enabled=row["enabled"],
        interval_seconds=row["interval_seconds"],
        bundle_version=row["bundle_version"],
        remote_version=row["remote_version"],
        last_push_at=row["last_push_at"],
        last_pull_at=row["last_pull_at"],
        last_sync_at=row["last_sync_at"],
        last_error=row["last_error"],
    )


async def load_config(db: Executor, cipher: FieldCipher, *, for_update: bool = False) -> SyncConfig | None:
    """The sync configuration, or None before /api/sync/initialize (or when it no longer decrypts)."""
    query = (
        "SELECT * FROM sync_state WHERE id = 1 FOR UPDATE" if for_update else "SELECT * FROM sync_state WHERE id = 1"
    )
    row = await db.fetchrow(query)
    if row is None:
        return None
    try:
        return _config(row, cipher)
    except DecryptionError:
        return None  # the storage key changed: initialize again


def hash_cloud_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cloud_token_matches(config: SyncConfig | None, presented: str) -> bool:
    expected = config.cloud_token_hash if config is not None else None
    # Compare even when nothing is configured, so timing does not tell whether sync is set up.
    candidate = hash_cloud_token(presented)
    return hmac.compare_digest(candidate, expected or "0" * 64) and expected is not None
