"""Restoring a validated export: content checks, then the configuration replaced in one transaction.

`shared.backups.reader` has checked the file and every value against its column. Here come the
checks that need the control plane's knowledge: enum values, references between rows (policies
name API keys, combo steps name connections and combos), and that every stored secret decrypts
with this deployment's STORAGE_ENCRYPTION_KEY (ciphertext is bound to its row; a backup from
another key would otherwise publish a snapshot no edge can use). Then, in one transaction that
bumps the config version: every configuration table emptied and refilled, the audit row written.
Postgres constraints that still refuse a row (unique names, checks) roll everything back: 422.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import asyncpg

from services.control import audit
from services.control.audit import Actor
from services.control.changes import ConfigWriter
from services.control.db.types import Conn
from services.control.errors import ApiError
from services.control.publish import connection_aad, node_aad, oauth_token_aad
from services.control.resources.proxy.entries import provider_scope
from shared import jsonx
from shared.backups.columns import quote_ident
from shared.backups.reader import BackupContents
from shared.backups.tables import CONFIG_TABLES, Table
from shared.crypto import DecryptionError, FieldCipher
from shared.outbound_proxy import PROXY_SETTINGS_KEY, proxy_aad

__all__ = ["check_contents", "replace_configuration"]

_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("provider_connections", "auth_type"): frozenset({"apikey", "oauth"}),
    ("provider_nodes", "type"): frozenset({"openai-compatible", "anthropic-compatible"}),
    ("combos", "strategy"): frozenset(
        {"priority", "weighted", "round-robin", "random", "least-used", "cost-optimized", "latency", "p2c"}
    ),
    ("policies", "effect"): frozenset({"allow", "deny"}),
    ("provider_models", "kind"): frozenset({"chat", "embedding", "image", "audio"}),
}
_ARRAY_ENUMS: dict[tuple[str, str], frozenset[str]] = {("api_keys", "scopes"): frozenset({"inference", "admin"})}
_JSON_OBJECTS = (
    ("provider_connections", "provider_specific_data"),
    ("combos", "config"),
    ("provider_models", "capabilities"),
)


def _invalid(message: str) -> ApiError:
    return ApiError(422, message, "invalid_backup")


def _check_enums(rows: Mapping[str, list[dict[str, Any]]]) -> None:
    for (table, column), allowed in _ENUMS.items():
        for index, row in enumerate(rows.get(table, []), start=1):
            if column in row and row[column] not in allowed:
                raise _invalid(f"{table}.{column} (row {index}): must be one of {', '.join(sorted(allowed))}")
    for (table, column), allowed in _ARRAY_ENUMS.items():
        for index, row in enumerate(rows.get(table, []), start=1):
            if any(item not in allowed for item in row.get(column) or []):
                raise _invalid(f"{table}.{column} (row {index}): entries must be among {', '.join(sorted(allowed))}")
    for table, column in _JSON_OBJECTS:
        for index, row in enumerate(rows.get(table, []), start=1):
            if column in row and not isinstance(jsonx.loads(row[column]), dict):
                raise _invalid(f"{table}.{column} (row {index}): must be a JSON object")


def _check_step(index: int, step: Any, connections: set[str], combos: set[str]) -> None:
    where = f"combos.steps (row {index})"
    if not isinstance(step, dict) or not (isinstance(step.get("model"), str) or isinstance(step.get("combo"), str)):
        raise _invalid(f"{where}: every step must be an object with a model or a combo")
    weight = step.get("weight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 1000:
        raise _invalid(f"{where}: weight must be an integer from 1 to 1000")
    connection = step.get("connectionId")
    if connection is not None and str(connection) not in connections:
        raise _invalid(f"{where}: connectionId names no connection in the backup")
    combo = step.get("combo")
    if combo is not None and combo not in combos:
        raise _invalid(f"{where}: combo {str(combo)[:128]!r} is not in the backup")


def _check_references(rows: Mapping[str, list[dict[str, Any]]]) -> None:
    keys = {str(row["id"]) for row in rows.get("api_keys", [])}
    connections = {str(row["id"]) for row in rows.get("provider_connections", [])}
    combos = {str(row["name"]) for row in rows.get("combos", [])}
    for index, row in enumerate(rows.get("policies", []), start=1):
        if any(str(key) not in keys for key in row.get("key_ids") or []):
            raise _invalid(f"policies.key_ids (row {index}): names an API key that is not in the backup")
    for index, row in enumerate(rows.get("combos", []), start=1):
        steps = jsonx.loads(row.get("steps", "[]"))
        if not isinstance(steps, list):
            raise _invalid(f"combos.steps (row {index}): must be a JSON array")
        for step in steps:
            _check_step(index, step, connections, combos)


def _decrypts(cipher: FieldCipher, blob: Any, aad: str) -> bool:
    if blob is None:
        return True
    try:
        cipher.decrypt(blob, aad.encode())
    except DecryptionError:
        return False
    return True


def _proxy_secrets(value: Any) -> list[tuple[str, Any]]:
    row = jsonx.loads(value) if isinstance(value, str) else value
    if not isinstance(row, dict):
        return []
    entries = [("global", row.get("global"))]
    providers = row.get("providers")
    if isinstance(providers, dict):
        entries.extend((provider_scope(str(name)), entry) for name, entry in providers.items())
    return [
        (scope, entry["passwordEnc"]) for scope, entry in entries if isinstance(entry, dict) and "passwordEnc" in entry
    ]


def _check_secrets(rows: Mapping[str, list[dict[str, Any]]], cipher: FieldCipher) -> None:
    wrong_key = _invalid(
        "{}: a secret does not decrypt with this deployment's STORAGE_ENCRYPTION_KEY "
        "(a backup restores only where the same key is configured)"
    )
    for index, row in enumerate(rows.get("provider_connections", []), start=1):
        ident = str(row["id"])
        pairs = [
            (row.get("api_key_enc"), connection_aad(ident)),
            (row.get("oauth_access_token_enc"), oauth_token_aad(ident, "access")),
            (row.get("oauth_refresh_token_enc"), oauth_token_aad(ident, "refresh")),
        ]
        if not all(_decrypts(cipher, blob, aad) for blob, aad in pairs):
            raise _invalid(wrong_key.message.format(f"provider_connections (row {index})"))
    for index, row in enumerate(rows.get("provider_nodes", []), start=1):
        if not _decrypts(cipher, row.get("api_key_enc"), node_aad(str(row["id"]))):
            raise _invalid(wrong_key.message.format(f"provider_nodes (row {index})"))
    for row in rows.get("settings", []):
        if row.get("key") != PROXY_SETTINGS_KEY:
            continue
        for scope, encoded in _proxy_secrets(row.get("value")):
            try:
                blob = base64.b64decode(str(encoded), validate=True)
            except (binascii.Error, ValueError):
                raise _invalid("settings.value (proxy): passwordEnc is not base64") from None
            if not _decrypts(cipher, blob, proxy_aad(scope)):
                raise _invalid(wrong_key.message.format("settings (proxy)"))


def check_contents(contents: BackupContents, cipher: FieldCipher) -> None:
    """The checks beyond types: enums, references, secrets; raises a 422 naming table and column."""
    _check_enums(contents.rows)
    _check_references(contents.rows)
    _check_secrets(contents.rows, cipher)


async def _insert(conn: Conn, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = [c for c in table.columns if c.name in rows[0]]  # an older export may lack some (defaults fill them)
    names = ", ".join(c.quoted for c in columns)
    values = ", ".join(f"${i}{c.insert_placeholder_cast}" for i, c in enumerate(columns, start=1))
    await conn.executemany(
        f"INSERT INTO {table.quoted} ({names}) VALUES ({values})",
        [tuple(row[c.name] for c in columns) for row in rows],
    )


async def _counts(conn: Conn) -> dict[str, int]:
    return {name: int(await conn.fetchval(f"SELECT count(*) FROM {quote_ident(name)}")) for name in CONFIG_TABLES}


async def replace_configuration(
    writer: ConfigWriter, tables: tuple[Table, ...], contents: BackupContents, actor: Actor, action: str, target: str
) -> dict[str, int]:
    """Swap the configuration for the backup's in one transaction; publishes a snapshot on commit."""
    config = [t for t in tables if t.is_config]
    try:
        async with writer.transaction() as conn:
            before = await _counts(conn)
            for table in reversed(config):
                await conn.execute(f"DELETE FROM {table.quoted}")
            for table in config:
                await _insert(conn, table, contents.rows.get(table.name, []))
            after = await _counts(conn)
            await audit.record(
                conn,
                actor,
                action,
                "db_backup",
                target,
                {"rowCounts": before},
                {"rowCounts": after, "createdAt": contents.created_at},
            )
    except asyncpg.ForeignKeyViolationError as exc:
        raise ApiError(
            409, f"other tables still reference the configuration ({exc.table_name}); nothing was changed", "conflict"
        ) from None
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
        refused = getattr(exc, "table_name", None) or "a table"
        raise _invalid(f"{refused}: the database refused a row ({type(exc).__name__}); nothing was changed") from None
    return after
