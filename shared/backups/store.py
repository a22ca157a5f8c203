"""Stored backups: the `db_backups` table, shared by the control plane (on demand) and workers (scheduled).

A backup row holds the whole SQLite export (`content`), its size, SHA-256 and row counts. Retention
keeps the newest K backups of each kind (`scheduled`, `manual`), so scheduled backups never push
out an operator's manual one and repeated manual backups stay bounded too.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from shared import jsonx
from shared.backups.tables import Database
from shared.backups.writer import StreamingDatabase, write_export

__all__ = [
    "EXPORT_NAME",
    "BackupDatabase",
    "BackupInfo",
    "BackupKind",
    "backup_content",
    "list_backups",
    "prune",
    "take_backup",
]

BackupKind = Literal["scheduled", "manual"]
EXPORT_NAME = "omniroute-export.sqlite"


class ValueDatabase(Database, Protocol):
    async def fetchval(self, query: str, *args: Any) -> Any: ...


class BackupDatabase(StreamingDatabase, ValueDatabase, Protocol):
    async def execute(self, query: str, *args: Any) -> str: ...


@dataclass(frozen=True, slots=True)
class BackupInfo:
    id: str
    created_at: dt.datetime
    kind: str
    size_bytes: int
    sha256: str
    row_counts: dict[str, int]


_COLUMNS = "id, created_at, kind, size_bytes, sha256, row_counts::text AS row_counts"


def _info(row: Any) -> BackupInfo:
    counts = jsonx.loads(row["row_counts"])
    return BackupInfo(
        id=str(row["id"]),
        created_at=row["created_at"],
        kind=str(row["kind"]),
        size_bytes=int(row["size_bytes"]),
        sha256=str(row["sha256"]),
        row_counts={str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {},
    )


async def list_backups(db: Database) -> list[BackupInfo]:
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM db_backups ORDER BY created_at DESC, id DESC")
    return [_info(row) for row in rows]


async def backup_content(db: ValueDatabase, backup_id: uuid.UUID) -> bytes | None:
    content = await db.fetchval("SELECT content FROM db_backups WHERE id = $1", backup_id)
    return bytes(content) if content is not None else None


async def prune(db: BackupDatabase, kind: BackupKind, keep: int) -> int:
    """Delete all but the newest `keep` backups of `kind`; the number deleted."""
    status = await db.execute(
        """DELETE FROM db_backups WHERE kind = $1 AND id NOT IN (
               SELECT id FROM db_backups WHERE kind = $1 ORDER BY created_at DESC, id DESC LIMIT $2)""",
        kind,
        max(keep, 1),
    )
    return int(status.rsplit(" ", 1)[-1])


async def take_backup(db: BackupDatabase, kind: BackupKind, keep: int, job_key: str | None = None) -> BackupInfo | None:
    """Export, store and apply retention; None when `job_key` already has its backup.

    Call inside one REPEATABLE READ transaction (not read-only): the export is one consistent view,
    and the row and the pruning commit together or not at all.
    """
    if job_key is not None and await db.fetchval("SELECT 1 FROM db_backups WHERE job_key = $1", job_key):
        return None
    with tempfile.TemporaryDirectory(prefix="omniroute-backup-") as folder:
        summary = await write_export(db, Path(folder) / EXPORT_NAME)
        content = summary.path.read_bytes()
    backup_id = uuid.uuid4()
    row = await db.fetch(
        f"""INSERT INTO db_backups (id, created_at, kind, job_key, size_bytes, sha256, row_counts, content)
            VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8) RETURNING {_COLUMNS}""",
        backup_id,
        summary.created_at,
        kind,
        job_key,
        summary.size_bytes,
        summary.sha256,
        jsonx.dumps_str(summary.row_counts),
        content,
    )
    await prune(db, kind, keep)
    return _info(row[0])
