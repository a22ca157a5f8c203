"""Wire shapes of /api/db-backups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = ["BackupList", "BackupView", "RestoreRequest", "RestoreResult"]


class BackupView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    created_at: datetime
    kind: str  # "scheduled" or "manual"
    size_bytes: int
    sha256: str
    tables: list[str]
    row_counts: dict[str, int]


class BackupList(msgspec.Struct, kw_only=True, rename="camel"):
    backups: list[BackupView]


class RestoreRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    backup_id: Annotated[str, Meta(min_length=1, max_length=64)]


class RestoreResult(msgspec.Struct, kw_only=True, rename="camel"):
    restored: bool
    source: str  # the backup id, or "upload"
    created_at: str  # when the restored export was made
    row_counts: dict[str, int]  # configuration rows now in force
