"""The synced tables as sync records, and applying the records that won a merge.

A row becomes a record with its credentials decrypted into `secrets` (the storage-key ciphertext
of this install never leaves it); applying a record re-encrypts them with the local key, bound to
the row as the rest of the control plane expects. The proxy settings row keeps its passwords
inside its JSON value (`passwordEnc` per entry), so it is handled the same way by scope.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.control.db.types import Conn
from services.control.publish import connection_aad, node_aad, oauth_token_aad
from shared.crypto import DecryptionError, FieldCipher
from shared.outbound_proxy import proxy_aad
from shared.sync.merge import Record

__all__ = ["SYNCED_TABLES", "ApplyResult", "apply_records", "dump_records"]

# table -> its primary key columns (the conflict target when a record is upserted)
SYNCED_TABLES: dict[str, tuple[str, ...]] = {
    "provider_connections": ("id",),
    "provider_nodes": ("id",),
    "api_keys": ("id",),
    "combos": ("id",),
    "model_aliases": ("alias",),
    "policies": ("id",),
    "settings": ("key",),
    "provider_models": ("id",),
    "pricing": ("provider", "model"),
}
TABLE_NAMES = frozenset(SYNCED_TABLES)

_Aad = Callable[[str], str]
_SECRET_COLUMNS: dict[str, dict[str, _Aad]] = {
    "provider_connections": {
        "api_key_enc": connection_aad,
        "oauth_access_token_enc": lambda ident: oauth_token_aad(ident, "access"),
        "oauth_refresh_token_enc": lambda ident: oauth_token_aad(ident, "refresh"),
    },
    "provider_nodes": {"api_key_enc": node_aad},
}
_PROXY_SETTINGS_KEY = "proxy"


def _epoch_us(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def _bytea(text: str) -> bytes:
    return bytes.fromhex(text[2:]) if text.startswith("\\x") else base64.b64decode(text)


def _proxy_entries(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """(scope, entry) for each proxy entry of the proxy settings value."""
    if not isinstance(value, dict):
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(value.get("global"), dict):
        found.append(("global", value["global"]))
    providers = value.get("providers")
    if isinstance(providers, dict):
        found.extend((f"provider:{p}", e) for p, e in providers.items() if isinstance(e, dict))
    return found


def _reveal(table: str, row: dict[str, Any], cipher: FieldCipher) -> dict[str, str | None]:
    """Pop the encrypted columns of `row`; return them decrypted (None when unset or unreadable)."""
    secrets: dict[str, str | None] = {}
    for column, aad in _SECRET_COLUMNS.get(table, {}).items():
        stored = row.pop(column, None)
        try:
            secrets[column] = cipher.decrypt_text(_bytea(stored), aad(str(row["id"]))) if stored else None
        except (DecryptionError, ValueError):
            secrets[column] = None
    if table == "settings" and row.get("key") == _PROXY_SETTINGS_KEY:
        for scope, entry in _proxy_entries(row.get("value")):
            stored = entry.pop("passwordEnc", None)
            if isinstance(stored, str):
                try:
                    secrets[f"proxy:{scope}"] = cipher.decrypt_text(base64.b64decode(stored), proxy_aad(scope))
                except (DecryptionError, ValueError):
                    secrets[f"proxy:{scope}"] = None
    return secrets


def _conceal(table: str, row: dict[str, Any], secrets: dict[str, str | None], cipher: FieldCipher) -> None:
    """Put the secrets back into `row`, encrypted with this install's key."""
    for column, aad in _SECRET_COLUMNS.get(table, {}).items():
        plain = secrets.get(column)
        row[column] = "\\x" + cipher.encrypt_text(plain, aad(str(row["id"]))).hex() if plain else None
    if table == "settings" and row.get("key") == _PROXY_SETTINGS_KEY:
        for scope, entry in _proxy_entries(row.get("value")):
            entry.pop("passwordEnc", None)
            plain = secrets.get(f"proxy:{scope}")
            if plain:
                entry["passwordEnc"] = base64.b64encode(cipher.encrypt_text(plain, proxy_aad(scope))).decode()


async def dump_records(db: Conn, cipher: FieldCipher) -> list[Record]:
    """Every synced row and tombstone; call inside a transaction (timestamps are rendered in UTC,
    so the same row reads the same on every install whatever its TimeZone setting)."""
    await db.execute("SET LOCAL TIME ZONE 'UTC'")
    records: list[Record] = []
    for table in SYNCED_TABLES:
        query = (  # table names come from SYNCED_TABLES, never from input
            f"SELECT sync_record_key($1, to_jsonb(t)) AS k, {_epoch_us('t.updated_at')} AS v, to_jsonb(t) AS row"  # noqa: S608
            f" FROM {table} t"
        )
        rows = await db.fetch(query, table)
        for found in rows:
            row = dict(found["row"])
            secrets = _reveal(table, row, cipher)
            records.append(Record(table, found["k"], found["v"], False, row, secrets))
    tombstones = await db.fetch(
        "SELECT table_name, record_key, (extract(epoch FROM deleted_at) * 1000000)::bigint AS v"
        " FROM sync_tombstones WHERE table_name = ANY($1::text[])",
        list(SYNCED_TABLES),
    )
    records.extend(Record(t["table_name"], t["record_key"], t["v"], True, None, {}) for t in tombstones)
    return records


@dataclass(slots=True)
class ApplyResult:
    written: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)  # "table key: reason" for records Postgres refused


async def _columns(conn: Conn, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [r["column_name"] for r in rows]


async def _upsert(conn: Conn, record: Record, columns: list[str], cipher: FieldCipher) -> None:
    assert record.row is not None
    row = dict(record.row)
    if record.table == "settings" and isinstance(row.get("value"), dict):
        row["value"] = _deep_copy(row["value"])
    _conceal(record.table, row, record.secrets, cipher)
    keys = SYNCED_TABLES[record.table]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
    # record.table is one of SYNCED_TABLES (checked when the bundle was read); columns come from
    # information_schema.
    query = (
        f"INSERT INTO {record.table} SELECT * FROM jsonb_populate_record(NULL::{record.table}, $1::jsonb)"  # noqa: S608
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )
    await conn.execute(query, row)
    await conn.execute(
        "DELETE FROM sync_tombstones WHERE table_name = $1 AND record_key = $2", record.table, record.key
    )


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


async def _delete(conn: Conn, record: Record) -> None:
    query = f"DELETE FROM {record.table} t WHERE sync_record_key($1, to_jsonb(t)) = $2"  # noqa: S608
    await conn.execute(query, record.table, record.key)
    await conn.execute(
        """INSERT INTO sync_tombstones (table_name, record_key, deleted_at)
           VALUES ($1, $2, 'epoch'::timestamptz + $3 * interval '1 microsecond')
           ON CONFLICT (table_name, record_key) DO UPDATE SET deleted_at = EXCLUDED.deleted_at""",
        record.table,
        record.key,
        record.v,
    )


async def apply_records(conn: Conn, records: list[Record], cipher: FieldCipher) -> ApplyResult:
    """Write the winning records inside the caller's transaction; each in a savepoint, so one row
    Postgres refuses (a name taken by another row on this side) is reported and the rest applied."""
    await conn.execute("SET LOCAL omniroute.sync_apply = 'on'")
    result = ApplyResult()
    columns = {table: await _columns(conn, table) for table in {r.table for r in records}}
    for record in records:
        try:
            async with conn.transaction():
                if record.deleted:
                    await _delete(conn, record)
                    result.deleted += 1
                else:
                    await _upsert(conn, record, columns[record.table], cipher)
                    result.written += 1
        except asyncpg.PostgresError as exc:
            result.skipped.append(f"{record.table} {record.key[:80]}: {type(exc).__name__}")
    return result
