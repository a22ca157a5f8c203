"""Reading an untrusted export: refuse anything that is not exactly what `writer` produces.

The file is opened read-only (`mode=ro`), with `trusted_schema` off, extension loading off (the
default) and an authorizer that allows reading only, so nothing in the file (triggers, views,
virtual tables, schema functions) ever runs. Checks, in order: SQLite magic header, a length that
matches the header's page count (truncation), `integrity_check`, the object list (tables only: no
triggers, views or virtual tables; no tables we do not know), the format marker, every table's
columns and declared types against the live database's, and finally every value of the
configuration tables against its column (storage class, UUID, JSON, timestamp, range).
Each refusal is a `BackupRejected` with an HTTP status and a message naming table and column.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.backups.columns import Column, ValueRejected, to_postgres
from shared.backups.tables import FORMAT, FORMAT_VERSION, META_TABLE, Table

__all__ = ["BackupContents", "BackupRejected", "read_backup"]

MAGIC = b"SQLite format 3\x00"
_HEADER = 100
_INTERNAL = ("sqlite_sequence", "sqlite_stat1", "sqlite_stat4")
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_PRAGMA}
_ALLOWED_PRAGMAS = {"integrity_check", "table_xinfo", "trusted_schema", "query_only", "cell_size_check"}


class BackupRejected(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class BackupContents:
    created_at: str
    rows: dict[str, list[dict[str, Any]]]  # configuration table -> rows as Postgres parameters
    row_counts: dict[str, int]  # every table in the file


def _invalid(message: str) -> BackupRejected:
    return BackupRejected(422, message)


def _check_header(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise BackupRejected(400, "the upload is empty: send a .sqlite export")
    with path.open("r+b") as handle:
        header = handle.read(_HEADER)
        if len(header) < _HEADER or not header.startswith(MAGIC):
            raise _invalid("the file is not a SQLite database (bad magic header)")
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        if page_size < 512 or page_size & (page_size - 1):
            raise _invalid("the SQLite header is corrupt (page size)")
        if pages and size < page_size * pages:
            raise _invalid("the SQLite file is truncated (shorter than its header says)")
        if header[18:20] == b"\x02\x02":
            # WAL mode left by a tool that edited the file; our private copy has no WAL to replay,
            # so read it as a rollback-journal database (the documented way to leave WAL mode).
            handle.seek(18)
            handle.write(b"\x01\x01")


def _authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    if trigger is not None:
        return sqlite3.SQLITE_DENY  # nothing runs on behalf of a trigger or view from the file
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() not in _ALLOWED_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


@contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA cell_size_check = ON")
        conn.set_authorizer(_authorize)
        yield conn
    finally:
        conn.close()


def _check_integrity(conn: sqlite3.Connection) -> None:
    rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
    if [tuple(r) for r in rows] != [("ok",)]:
        raise _invalid("the SQLite file is corrupt (integrity_check failed)")


def _check_objects(conn: sqlite3.Connection, known: set[str]) -> set[str]:
    """The tables in the file; refuses triggers, views, virtual and unknown tables."""
    tables: set[str] = set()
    for kind, name, table, sql in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"):
        if kind in ("trigger", "view"):
            raise _invalid(f"the file contains a {kind} ({str(name)[:64]!r}); exports never do")
        if kind == "index":
            if table not in known:
                raise _invalid(f"the file has an index on an unknown table {str(table)[:64]!r}")
            continue
        if kind != "table":
            raise _invalid(f"the file contains an unexpected {str(kind)[:16]} object")
        if name in _INTERNAL:
            continue
        if name not in known:
            raise _invalid(f"the file has an unknown table {str(name)[:64]!r}")
        if isinstance(sql, str) and sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            raise _invalid(f"the table {name!r} is a virtual table; exports never have one")
        tables.add(name)
    return tables


def _check_meta(conn: sqlite3.Connection, tables: set[str]) -> str:
    if META_TABLE not in tables:
        raise _invalid(f"the file is not an OmniRoute export (no {META_TABLE} table)")
    try:
        meta = {str(k): v for k, v in conn.execute(f'SELECT key, value FROM "{META_TABLE}"')}
    except sqlite3.Error:
        raise _invalid(f"the {META_TABLE} table must have the columns key and value") from None
    if meta.get("format") != FORMAT:
        raise _invalid(f"the file is not an OmniRoute export (format is not {FORMAT!r})")
    if meta.get("formatVersion") != str(FORMAT_VERSION):
        raise _invalid(f"unsupported export format version (this version reads {FORMAT_VERSION})")
    created = meta.get("createdAt")
    return created if isinstance(created, str) else ""


def _check_columns(conn: sqlite3.Connection, table: Table) -> Table:
    """The table as the file has it: every column present, or absent where Postgres can fill it in."""
    found = {
        str(name): (str(declared).upper(), hidden)
        for _, name, declared, _, _, _, hidden in conn.execute(f"PRAGMA table_xinfo({table.quoted})")
    }
    expected = {c.name: c for c in table.columns}
    for name, column in expected.items():
        if name not in found:
            if column.optional:
                continue  # an export from before a migration added it
            raise _invalid(f"{table.name}.{name}: the column is missing")
        declared, hidden = found[name]
        if hidden:
            raise _invalid(f"{table.name}.{name}: generated or hidden columns are not allowed")
        if declared != column.kind.sqlite_type:
            raise _invalid(f"{table.name}.{name}: declared type must be {column.kind.sqlite_type}")
    for name in found:
        if name not in expected:
            raise _invalid(f"{table.name}.{name[:64]}: unknown column")
    return dataclasses.replace(table, columns=tuple(c for c in table.columns if c.name in found))


def _convert(table: Table, column: Column, storage: str, value: Any, row: int) -> Any:
    where = f"{table.name}.{column.name} (row {row})"
    if storage not in ("null", column.kind.storage_class) and not (
        column.kind.storage_class == "real" and storage == "integer"
    ):
        raise _invalid(f"{where}: stored as {storage}, expected {column.kind.storage_class}")
    try:
        return to_postgres(column, value)
    except ValueRejected as exc:
        raise _invalid(f"{where}: {exc}") from None


def _rows(conn: sqlite3.Connection, table: Table) -> list[dict[str, Any]]:
    parts = ", ".join(f"typeof({c.quoted}), {c.quoted}" for c in table.columns)
    rows = []
    for index, record in enumerate(conn.execute(f"SELECT {parts} FROM {table.quoted}"), start=1):
        rows.append(
            {c.name: _convert(table, c, record[2 * i], record[2 * i + 1], index) for i, c in enumerate(table.columns)}
        )
    return rows


def read_backup(path: Path, tables: tuple[Table, ...]) -> BackupContents:
    """Validate the file at `path` against `tables` (the live schema); the configuration rows it holds."""
    _check_header(path)
    try:
        with _open(path) as conn:
            _check_integrity(conn)
            present = _check_objects(conn, {t.name for t in tables} | {META_TABLE})
            created_at = _check_meta(conn, present)
            rows: dict[str, list[dict[str, Any]]] = {}
            counts: dict[str, int] = {}
            for table in tables:
                if table.name not in present:
                    if table.is_config:
                        raise _invalid(f"{table.name}: the table is missing")
                    continue
                present_columns = _check_columns(conn, table)
                if table.is_config:
                    rows[table.name] = _rows(conn, present_columns)
                    counts[table.name] = len(rows[table.name])
                else:
                    counts[table.name] = int(conn.execute(f"SELECT count(*) FROM {table.quoted}").fetchone()[0])
    except sqlite3.Error as exc:
        # malformed schema, a page that does not decode, an authorizer refusal: never a 500
        raise _invalid(f"the SQLite file is corrupt or cannot be read safely ({type(exc).__name__})") from None
    return BackupContents(created_at, rows, counts)
