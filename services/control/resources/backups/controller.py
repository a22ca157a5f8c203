"""/api/db-backups: list, create now, restore; export (.sqlite), import, exportAll (.tar.gz).

Backups are SQLite exports of the configuration and usage tables (shared/backups/), stored in the
`db_backups` table. A restore or an import validates the whole file first and then replaces the
configuration in one transaction with its audit row, then publishes a snapshot; usage tables in a
file are never written back. Secrets travel as the ciphertext stored in Postgres, so a backup
restores only where the same STORAGE_ENCRYPTION_KEY is configured.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import JSONBody
from litestar.response import File

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import ApiError, InvalidField, NotFoundError
from services.control.resources.backups.restore import check_contents, replace_configuration
from services.control.resources.backups.schemas import BackupList, BackupView, RestoreRequest, RestoreResult
from services.control.resources.backups.upload import receive_upload
from services.control.resources.settings.gateway_rules import GENERAL
from services.control.resources.settings.rules import typed
from services.control.state import ControlState
from shared.backups import store
from shared.backups.bundle import write_bundle
from shared.backups.reader import BackupRejected, read_backup
from shared.backups.tables import read_tables
from shared.backups.writer import ExportSummary, write_export
from shared.config.gateway_settings import GeneralSettings

__all__ = ["BackupsController"]

SQLITE_MEDIA_TYPE = "application/vnd.sqlite3"
TAR_GZ_MEDIA_TYPE = "application/gzip"


def _view(info: store.BackupInfo) -> BackupView:
    return BackupView(
        id=info.id,
        created_at=info.created_at,
        kind=info.kind,
        size_bytes=info.size_bytes,
        sha256=info.sha256,
        tables=list(info.row_counts),
        row_counts=info.row_counts,
    )


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


async def _retention(state: ControlState) -> int:
    stored = await state.pool.fetchval("SELECT value FROM settings WHERE key = 'general'")
    general: GeneralSettings = typed(GENERAL, stored)
    return general.backup_retention


async def _export(state: ControlState, folder: Path) -> ExportSummary:
    async with state.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await write_export(conn, folder / store.EXPORT_NAME)


async def _restore_file(request: Request[Any, Any, Any], path: Path, action: str, source: str) -> RestoreResult:
    state = control_state(request)
    tables = await read_tables(state.pool)
    try:
        contents = await asyncio.to_thread(read_backup, path, tables)
    except BackupRejected as exc:
        raise ApiError(exc.status, exc.message, "invalid_backup") from None
    check_contents(contents, state.cipher)
    counts = await replace_configuration(state.writer, tables, contents, actor_of(request), action, source)
    return RestoreResult(restored=True, source=source, created_at=contents.created_at, row_counts=counts)


_FILE_SCHEMA = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


@dataclasses.dataclass
class _UploadOperation(Operation):
    """The import body is streamed by hand (no `data` parameter), so its schema is declared here."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="a .sqlite export: the raw file, or multipart/form-data with the file as `file`",
            content={
                SQLITE_MEDIA_TYPE: OpenAPIMediaType(schema=_FILE_SCHEMA),
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.OBJECT, properties={"file": _FILE_SCHEMA}, required=["file"])
                ),
            },
        )


def _temp_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="omniroute-backup-"))


class BackupsController(Controller):
    path = "/api/db-backups"
    tags = ["backups"]

    @get("/")
    async def list_backups(self, request: Request[Any, Any, Any]) -> BackupList:
        """Stored backups, newest first: id, createdAt, kind (scheduled/manual), size, tables and row counts."""
        infos = await store.list_backups(control_state(request).pool)
        return BackupList(backups=[_view(info) for info in infos])

    @put("/", status_code=201)
    async def create_backup(self, request: Request[Any, Any, Any]) -> BackupView:
        """Take a manual backup now (configuration and usage tables); retention keeps the newest of each kind."""
        state = control_state(request)
        keep = await _retention(state)
        async with state.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            info = await store.take_backup(conn, "manual", keep)
            assert info is not None  # no job key: always taken
            await audit.record(
                conn, actor_of(request), "backup.created", "db_backup", info.id, None, {"rowCounts": info.row_counts}
            )
        return _view(info)

    @post("/", status_code=200)
    async def restore_backup(self, request: Request[Any, Any, Any], data: JSONBody[RestoreRequest]) -> RestoreResult:
        """Restore `{"backupId"}`: validate it, replace the configuration in one transaction, publish a snapshot."""
        try:
            backup_id = uuid.UUID(data.backup_id)
        except ValueError:
            raise InvalidField("backupId", "must be a UUID") from None
        content = await store.backup_content(control_state(request).pool, backup_id)
        if content is None:
            raise NotFoundError("backup")
        folder = _temp_folder()
        try:
            path = folder / store.EXPORT_NAME
            path.write_bytes(content)
            return await _restore_file(request, path, "backup.restored", str(backup_id))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @get("/export", media_type=SQLITE_MEDIA_TYPE)
    async def export_sqlite(self, request: Request[Any, Any, Any]) -> File:
        """The configuration and usage tables as one `.sqlite` file (secrets as stored: encrypted)."""
        folder = _temp_folder()
        try:
            summary = await _export(control_state(request), folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return File(
            path=summary.path,
            filename=f"omniroute-backup-{_stamp(summary.created_at)}.sqlite",
            media_type=SQLITE_MEDIA_TYPE,
            content_disposition_type="attachment",
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    @get("/exportAll", media_type=TAR_GZ_MEDIA_TYPE)
    async def export_all(self, request: Request[Any, Any, Any]) -> File:
        """A `.tar.gz` with the export (`omniroute-export.sqlite`) and `manifest.json` (counts, sha256)."""
        folder = _temp_folder()
        try:
            summary = await _export(control_state(request), folder)
            archive = folder / "backup.tar.gz"
            await asyncio.to_thread(write_bundle, summary, archive)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return File(
            path=archive,
            filename=f"omniroute-backup-{_stamp(summary.created_at)}.tar.gz",
            media_type=TAR_GZ_MEDIA_TYPE,
            content_disposition_type="attachment",
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    @post("/import", status_code=200, request_max_body_size=None, operation_class=_UploadOperation)
    async def import_sqlite(self, request: Request[Any, Any, Any]) -> RestoreResult:
        """Upload an export (raw body or multipart `file`) to replace the configuration; hostile files are refused.

        400 empty or malformed body, 413 larger than OMNIROUTE_BACKUP_MAX_BYTES, 422 not SQLite, truncated,
        corrupt, triggers/views, wrong schema or content, secrets from another STORAGE_ENCRYPTION_KEY.
        Nothing is changed unless everything is valid.
        """
        folder = _temp_folder()
        try:
            path = folder / store.EXPORT_NAME
            await receive_upload(request, path, control_state(request).settings.backup_max_bytes)
            return await _restore_file(request, path, "backup.imported", "upload")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
