"""Which tables a backup holds, and their schema as the live database has it.

Configuration tables are what a restore replaces; usage tables travel for the record (analysis,
archive) and are never written back. The column list of each table is read from Postgres at
export and import time, so a migration that adds a column is carried without touching this code
(a column of a type `columns.kind_of` does not know stops the export with a clear error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.backups.columns import Column, kind_of, quote_ident

__all__ = [
    "CONFIG_TABLES",
    "FORMAT",
    "FORMAT_VERSION",
    "META_TABLE",
    "USAGE_TABLES",
    "Database",
    "Table",
    "read_tables",
]

FORMAT = "omniroute-backup"
FORMAT_VERSION = 1
META_TABLE = "omniroute_backup"  # key/value rows: format, formatVersion, createdAt

# Restore order: nothing references a later table (policies name API keys by id inside an array).
CONFIG_TABLES = (
    "provider_nodes",
    "provider_connections",
    "api_keys",
    "api_key_budgets",  # references api_keys (ON DELETE CASCADE): a restore must bring it back
    "combos",
    "model_aliases",
    "policies",
    "settings",
    "provider_models",
    "pricing",
)
# Tables a migration has not created yet are skipped (read_tables lists only those that exist).
USAGE_TABLES = ("usage_events", "usage_hourly", "usage_daily")


class Database(Protocol):
    """What backups need of a Postgres connection or pool (asyncpg's satisfy it)."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    order_by: str  # a stable row order, so two exports of one state are identical row by row

    @property
    def quoted(self) -> str:
        return quote_ident(self.name)

    @property
    def is_config(self) -> bool:
        return self.name in CONFIG_TABLES


async def read_tables(db: Database, names: Sequence[str] = CONFIG_TABLES + USAGE_TABLES) -> tuple[Table, ...]:
    """The named tables that exist, in the order given, with their columns in table order."""
    columns = await db.fetch(
        """SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable, c.column_default IS NOT NULL AS has_default
           FROM information_schema.columns c
           WHERE c.table_schema = current_schema() AND c.table_name = ANY($1::text[])
           ORDER BY c.table_name, c.ordinal_position""",
        list(names),
    )
    keys = await db.fetch(
        """SELECT k.table_name, k.column_name
           FROM information_schema.table_constraints t
           JOIN information_schema.key_column_usage k
             ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema
           WHERE t.table_schema = current_schema() AND t.constraint_type = 'PRIMARY KEY'
             AND t.table_name = ANY($1::text[])
           ORDER BY k.table_name, k.ordinal_position""",
        list(names),
    )
    by_table: dict[str, list[Column]] = {}
    for row in columns:
        table, name = str(row["table_name"]), str(row["column_name"])
        kind = kind_of(table, name, str(row["udt_name"]))
        column = Column(name, kind, row["is_nullable"] == "YES", str(row["udt_name"]), bool(row["has_default"]))
        by_table.setdefault(table, []).append(column)
    primary: dict[str, list[str]] = {}
    for row in keys:
        primary.setdefault(str(row["table_name"]), []).append(quote_ident(str(row["column_name"])))
    return tuple(
        Table(name, tuple(by_table[name]), ", ".join(primary.get(name) or [by_table[name][0].quoted]))
        for name in names
        if name in by_table
    )
