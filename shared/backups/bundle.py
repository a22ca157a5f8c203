"""The full backup archive (/api/db-backups/exportAll): the export plus a manifest, as .tar.gz."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from shared import jsonx
from shared.backups.store import EXPORT_NAME
from shared.backups.tables import FORMAT, FORMAT_VERSION
from shared.backups.writer import ExportSummary

__all__ = ["MANIFEST_NAME", "manifest", "write_bundle"]

MANIFEST_NAME = "manifest.json"


def manifest(summary: ExportSummary) -> dict[str, object]:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "createdAt": summary.created_at.isoformat(),
        "file": EXPORT_NAME,
        "sizeBytes": summary.size_bytes,
        "sha256": summary.sha256,
        "tables": list(summary.row_counts),
        "rowCounts": summary.row_counts,
    }


def write_bundle(summary: ExportSummary, target: Path) -> None:
    """Write `target` (.tar.gz): the export under its fixed name, then manifest.json."""
    body = jsonx.dumps(manifest(summary))
    mtime = int(summary.created_at.timestamp())
    with tarfile.open(target, "w:gz") as archive:
        export = archive.gettarinfo(str(summary.path), arcname=EXPORT_NAME)
        export.mtime, export.mode, export.uid, export.gid, export.uname, export.gname = mtime, 0o644, 0, 0, "", ""
        with summary.path.open("rb") as handle:
            archive.addfile(export, handle)
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size, info.mtime, info.mode = len(body), mtime, 0o644
        archive.addfile(info, io.BytesIO(body))
