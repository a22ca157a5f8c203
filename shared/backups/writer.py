"""Writing an export: the configuration and usage tables into a fresh SQLite file.

The caller passes a connection inside a REPEATABLE READ transaction, so every table is read from
one consistent view. Rows stream through a server-side cursor and reach SQLite in batches on a
worker thread: a large usage table neither fills memory nor blocks the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sqlite3
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shared.backups.columns import from_postgres
from shared.backups.tables import FORMAT, FORMAT_VERSION, META_TABLE, Database, Table, read_tables

__all__ = ["ExportSummary", "StreamingDatabase", "file_sha256", "write_export"]

_BATCH = 1000


class StreamingDatabase(Database, Protocol):
    def cursor(self, query: str, *args: Any, prefetch: int | None = None) -> AsyncIterable[Any]: ...


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    created_at: dt.datetime
    row_counts: dict[str, int]  # table -> rows, in export order
    size_bytes: int
    sha256: str


def _ddl(table: Table) -> str:
    columns = ", ".join(f"{c.quoted} {c.kind.sqlite_type}{'' if c.nullable else ' NOT NULL'}" for c in table.columns)
    return f"CREATE TABLE {table.quoted} ({columns})"


def _insert(table: Table) -> str:
    names = ", ".join(c.quoted for c in table.columns)
    return f"INSERT INTO {table.quoted} ({names}) VALUES ({', '.join('?' for _ in table.columns)})"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _create(path: Path, tables: tuple[Table, ...], created_at: dt.datetime) -> sqlite3.Connection:
    target = sqlite3.connect(path, check_same_thread=False)  # used from one thread at a time
    target.execute("PRAGMA journal_mode = OFF")  # a fresh file: nothing to roll back to
    target.execute("PRAGMA synchronous = OFF")
    target.execute(f'CREATE TABLE "{META_TABLE}" (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)')
    target.executemany(
        f'INSERT INTO "{META_TABLE}" (key, value) VALUES (?, ?)',
        [("format", FORMAT), ("formatVersion", str(FORMAT_VERSION)), ("createdAt", created_at.isoformat())],
    )
    for table in tables:
        target.execute(_ddl(table))
    return target


async def _copy(db: StreamingDatabase, target: sqlite3.Connection, table: Table) -> int:
    select = ", ".join(c.select_expression for c in table.columns)
    insert = _insert(table)
    batch: list[tuple[Any, ...]] = []
    count = 0
    async for record in db.cursor(f"SELECT {select} FROM {table.quoted} ORDER BY {table.order_by}", prefetch=_BATCH):
        batch.append(tuple(from_postgres(c, record[i]) for i, c in enumerate(table.columns)))
        if len(batch) >= _BATCH:
            await asyncio.to_thread(target.executemany, insert, batch)
            count += len(batch)
            batch = []
    if batch:
        await asyncio.to_thread(target.executemany, insert, batch)
        count += len(batch)
    return count


async def write_export(db: StreamingDatabase, path: Path) -> ExportSummary:
    """Write every configuration and usage table to a new SQLite file at `path`."""
    created_at = dt.datetime.now(dt.UTC)
    tables = await read_tables(db)
    target = await asyncio.to_thread(_create, path, tables, created_at)
    try:
        counts = {table.name: await _copy(db, target, table) for table in tables}
        await asyncio.to_thread(target.commit)
    finally:
        target.close()
    sha256 = await asyncio.to_thread(file_sha256, path)
    size = (await asyncio.to_thread(path.stat)).st_size
    return ExportSummary(path, created_at, counts, size, sha256)
