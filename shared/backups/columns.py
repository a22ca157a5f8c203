"""Column kinds of a backup: how a Postgres column is written to SQLite and read back.

The export's schema is the live database's: every column of every exported table, its kind taken
from the Postgres type. A kind fixes the SQLite declared type and storage class, the conversion of
a value in each direction, and the check an imported value must pass. Secrets are `bytea`
ciphertext and travel as BLOBs unchanged: a backup never holds a plaintext credential.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from dataclasses import dataclass
from typing import Any

from shared import jsonx

__all__ = [
    "Column",
    "Kind",
    "UnsupportedColumn",
    "ValueRejected",
    "from_postgres",
    "kind_of",
    "quote_ident",
    "to_postgres",
]

_INT_RANGES = {"int2": 2**15, "int4": 2**31, "int8": 2**63}


class UnsupportedColumn(ValueError):
    """A Postgres type the backup format does not carry (a migration added one: extend `kind_of`)."""


class ValueRejected(ValueError):
    """An imported value does not fit its column; the message says why (never echoes long input)."""


class Kind(enum.Enum):
    UUID = "uuid"
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    REAL = "real"
    NUMERIC = "numeric"
    TIMESTAMP = "timestamp"
    JSON = "json"
    BYTES = "bytes"
    TEXT_ARRAY = "text[]"
    UUID_ARRAY = "uuid[]"
    INT_ARRAY = "integer[]"

    @property
    def sqlite_type(self) -> str:
        return _SQLITE_TYPES.get(self, "TEXT")

    @property
    def storage_class(self) -> str:
        """What SQLite's typeof() answers for a non-NULL value of this kind."""
        return self.sqlite_type.lower()


_SQLITE_TYPES = {Kind.INTEGER: "INTEGER", Kind.BOOLEAN: "INTEGER", Kind.REAL: "REAL", Kind.BYTES: "BLOB"}

_BY_UDT = {
    "uuid": Kind.UUID,
    "text": Kind.TEXT,
    "varchar": Kind.TEXT,
    "int2": Kind.INTEGER,
    "int4": Kind.INTEGER,
    "int8": Kind.INTEGER,
    "bool": Kind.BOOLEAN,
    "float4": Kind.REAL,
    "float8": Kind.REAL,
    "numeric": Kind.NUMERIC,
    "timestamptz": Kind.TIMESTAMP,
    "json": Kind.JSON,
    "jsonb": Kind.JSON,
    "bytea": Kind.BYTES,
    "_text": Kind.TEXT_ARRAY,
    "_varchar": Kind.TEXT_ARRAY,
    "_uuid": Kind.UUID_ARRAY,
    "_int2": Kind.INT_ARRAY,
    "_int4": Kind.INT_ARRAY,
    "_int8": Kind.INT_ARRAY,
}


def quote_ident(name: str) -> str:
    """An SQL identifier (Postgres and SQLite alike), quoted so no name can end the quote."""
    return '"' + name.replace('"', '""') + '"'


def kind_of(table: str, column: str, udt_name: str) -> Kind:
    kind = _BY_UDT.get(udt_name)
    if kind is None:
        raise UnsupportedColumn(f"{table}.{column} has type {udt_name}, which backups do not carry")
    return kind


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    nullable: bool
    udt_name: str  # the Postgres type, for integer ranges and the insert cast
    has_default: bool = False

    @property
    def quoted(self) -> str:
        return quote_ident(self.name)

    @property
    def optional(self) -> bool:
        """May be absent from an older export: Postgres fills it (NULL or its default)."""
        return self.nullable or self.has_default

    @property
    def select_expression(self) -> str:
        """JSON read as text, so the export never depends on a connection's JSON codec."""
        return f"{self.quoted}::text" if self.kind is Kind.JSON else self.quoted

    @property
    def insert_placeholder_cast(self) -> str:
        if self.kind is Kind.JSON:
            return f"::text::{self.udt_name}"
        if self.udt_name.startswith("_"):
            return f"::{self.udt_name[1:]}[]"
        return f"::{self.udt_name}"


def from_postgres(column: Column, value: Any) -> Any:
    """A value as fetched from Postgres -> the SQLite value stored in the export."""
    if value is None:
        return None
    kind = column.kind
    if kind in (Kind.UUID, Kind.NUMERIC):
        return str(value)
    if kind is Kind.BOOLEAN:
        return 1 if value else 0
    if kind is Kind.TIMESTAMP:
        return value.astimezone(dt.UTC).isoformat()
    if kind is Kind.JSON:
        return value if isinstance(value, str) else jsonx.dumps_str(value)
    if kind is Kind.BYTES:
        return bytes(value)
    if kind in (Kind.TEXT_ARRAY, Kind.UUID_ARRAY, Kind.INT_ARRAY):
        return jsonx.dumps_str([item if isinstance(item, int | str) else str(item) for item in value])
    return value


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str) or len(value) != 36:
        raise ValueRejected("is not a UUID")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueRejected("is not a UUID") from None


def _integer(column: Column, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueRejected("is not an integer")
    bound = _INT_RANGES.get(column.udt_name.lstrip("_"), 2**63)
    if not -bound <= value < bound:
        raise ValueRejected(f"is out of range for {column.udt_name.lstrip('_')}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueRejected("is not text")
    if "\x00" in value:
        raise ValueRejected("contains a NUL character")
    return value


def _json(value: Any) -> Any:
    try:
        return jsonx.loads(_text(value))
    except jsonx.JSONDecodeError:
        raise ValueRejected("is not valid JSON") from None


def _array(column: Column, value: Any) -> list[Any]:
    items = _json(value)
    if not isinstance(items, list):
        raise ValueRejected("is not a JSON array")
    if column.kind is Kind.UUID_ARRAY:
        return [_uuid(item) for item in items]
    if column.kind is Kind.INT_ARRAY:
        return [_integer(column, item) for item in items]
    return [_text(item) for item in items]


def _timestamp(value: Any) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(_text(value))
    except ValueError:
        raise ValueRejected("is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueRejected("is a timestamp without a time zone")
    return parsed


def _numeric(value: Any) -> decimal.Decimal:
    try:
        number = decimal.Decimal(_text(value))
    except decimal.InvalidOperation:
        raise ValueRejected("is not a decimal number") from None
    if not number.is_finite():
        raise ValueRejected("is not a finite decimal number")
    return number


def _real(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueRejected("is not a number")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueRejected("is not a finite number")
    return number


def _boolean(value: Any) -> bool:
    if value not in (0, 1) or isinstance(value, float):
        raise ValueRejected("is not 0 or 1")
    return bool(value)


def _bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise ValueRejected("is not a BLOB")
    return value


def to_postgres(column: Column, value: Any) -> Any:
    """An imported SQLite value -> the Python value for the Postgres parameter; raises ValueRejected."""
    if value is None:
        if not column.nullable:
            raise ValueRejected("must not be NULL")
        return None
    kind = column.kind
    if kind is Kind.UUID:
        return _uuid(value)
    if kind is Kind.TEXT:
        return _text(value)
    if kind is Kind.INTEGER:
        return _integer(column, value)
    if kind is Kind.BOOLEAN:
        return _boolean(value)
    if kind is Kind.REAL:
        return _real(value)
    if kind is Kind.NUMERIC:
        return _numeric(value)
    if kind is Kind.TIMESTAMP:
        return _timestamp(value)
    if kind is Kind.JSON:
        _json(value)
        return value  # inserted as text and cast to jsonb by Postgres, exactly as exported
    if kind is Kind.BYTES:
        return _bytes(value)
    return _array(column, value)
