"""Backup column kinds: Postgres value -> SQLite value -> Postgres parameter, and what is refused."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest

from shared.backups.columns import (
    Column,
    Kind,
    UnsupportedColumn,
    ValueRejected,
    from_postgres,
    kind_of,
    quote_ident,
    to_postgres,
)


def col(kind: Kind, udt: str, nullable: bool = True) -> Column:
    return Column("c", kind, nullable, udt)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        (col(Kind.UUID, "uuid"), uuid.UUID("6f1c1b7e-0000-4000-8000-000000000000")),
        (col(Kind.TEXT, "text"), "héllo"),
        (col(Kind.INTEGER, "int8"), 2**62),
        (col(Kind.BOOLEAN, "bool"), True),
        (col(Kind.REAL, "float4"), 12.5),
        (col(Kind.NUMERIC, "numeric"), decimal.Decimal("1.500000")),
        (col(Kind.TIMESTAMP, "timestamptz"), dt.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=dt.UTC)),
        (col(Kind.BYTES, "bytea"), b"v1\x00\xff"),
        (col(Kind.TEXT_ARRAY, "_text"), ["a", "b"]),
        (col(Kind.UUID_ARRAY, "_uuid"), [uuid.UUID("6f1c1b7e-0000-4000-8000-000000000001")]),
        (col(Kind.INT_ARRAY, "_int2"), [0, 6]),
    ],
)
def test_values_round_trip(column: Column, value: Any) -> None:
    assert to_postgres(column, from_postgres(column, value)) == value


def test_json_travels_as_text_and_must_parse() -> None:
    column = col(Kind.JSON, "jsonb")
    assert from_postgres(column, {"a": [1]}) == '{"a":[1]}'
    assert to_postgres(column, '{"a": [1]}') == '{"a": [1]}'
    with pytest.raises(ValueRejected, match="JSON"):
        to_postgres(column, "{nope")


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (col(Kind.UUID, "uuid"), "not-a-uuid", "UUID"),
        (col(Kind.UUID, "uuid"), 12, "UUID"),
        (col(Kind.INTEGER, "int2"), 40_000, "range"),
        (col(Kind.INTEGER, "int4"), "5", "integer"),
        (col(Kind.BOOLEAN, "bool"), 2, "0 or 1"),
        (col(Kind.REAL, "float4"), "x", "number"),
        (col(Kind.NUMERIC, "numeric"), "NaN", "finite"),
        (col(Kind.NUMERIC, "numeric"), "abc", "decimal"),
        (col(Kind.TIMESTAMP, "timestamptz"), "2026-01-01T00:00:00", "time zone"),
        (col(Kind.TIMESTAMP, "timestamptz"), "yesterday", "ISO"),
        (col(Kind.TEXT, "text"), "a\x00b", "NUL"),
        (col(Kind.BYTES, "bytea"), "text", "BLOB"),
        (col(Kind.TEXT_ARRAY, "_text"), '{"a": 1}', "array"),
        (col(Kind.UUID_ARRAY, "_uuid"), '["x"]', "UUID"),
        (col(Kind.TEXT, "text", nullable=False), None, "NULL"),
    ],
)
def test_bad_values_are_rejected_with_a_reason(column: Column, value: Any, reason: str) -> None:
    with pytest.raises(ValueRejected, match=reason):
        to_postgres(column, value)


def test_unknown_postgres_types_stop_the_export() -> None:
    with pytest.raises(UnsupportedColumn, match=r"t\.c has type inet"):
        kind_of("t", "c", "inet")


def test_insert_casts() -> None:
    assert col(Kind.TEXT_ARRAY, "_text").insert_placeholder_cast == "::text[]"
    assert col(Kind.JSON, "jsonb").insert_placeholder_cast == "::text::jsonb"
    assert col(Kind.UUID, "uuid").insert_placeholder_cast == "::uuid"


def test_identifiers_are_quoted_so_no_name_ends_the_quote() -> None:
    assert quote_ident("api_keys") == '"api_keys"'
    assert quote_ident('x"; DROP TABLE t; --') == '"x""; DROP TABLE t; --"'
