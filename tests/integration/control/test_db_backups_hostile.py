"""Hostile and broken uploads to /api/db-backups/import: each refused with a clear 4xx, nothing changed.

Every case starts from a real export of a populated configuration and breaks it one way; after
the refusal the configuration, its version, the published snapshot and the audit log are exactly
as before. Nothing in a file is executed: a trigger that would fire on read is refused unrun.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared.backups.reader import MAGIC
from shared.crypto import FieldCipher
from shared.settings import Settings
from tests.integration.control.backup_support import config_version, dump_config, edited, populate
from tests.integration.control.routing_support import version
from tests.support.auth import login

Breaker = Callable[[bytes, Path], bytes]


def _truncated(good: bytes, _: Path) -> bytes:
    return good[: len(good) // 2]


def _corrupt_pages(good: bytes, _: Path) -> bytes:
    page = int.from_bytes(good[16:18], "big")
    broken = bytearray(good)
    for offset in range(page, len(broken) - page, page):  # every page but the first: headers garbled
        broken[offset : offset + 16] = b"\xff" * 16
    return bytes(broken)


def _sql(*statements: str) -> Breaker:
    return lambda good, folder: edited(good, folder, *statements)


def _other_key(good: bytes, folder: Path) -> bytes:
    """A credential encrypted under another STORAGE_ENCRYPTION_KEY (right row, right AAD)."""
    import sqlite3

    path = folder / "other-key.sqlite"
    path.write_bytes(good)
    with sqlite3.connect(path) as conn:
        ident = conn.execute("SELECT id FROM provider_connections").fetchone()[0]
        blob = FieldCipher("another-storage-key-0123456789abcdef", "provider-credentials").encrypt_text(
            "sk-x", f"provider_connections:{ident}"
        )
        conn.execute("UPDATE provider_connections SET api_key_enc = ?", (blob,))
    return path.read_bytes()


HOSTILE: dict[str, tuple[Breaker, int, str]] = {
    "empty body": (lambda good, _: b"", 400, "empty"),
    "not sqlite at all": (lambda good, _: b"PK\x03\x04 this is a zip, not a database" * 50, 422, "not a SQLite"),
    "magic header only": (lambda good, _: MAGIC + b"\x00" * 84, 422, "SQLite"),
    "truncated": (_truncated, 422, "truncated"),
    "corrupt pages": (_corrupt_pages, 422, "corrupt"),
    "a trigger": (
        _sql("CREATE TRIGGER t AFTER INSERT ON combos BEGIN DELETE FROM api_keys; END"),
        422,
        "trigger",
    ),
    "a view shadowing nothing": (_sql("CREATE VIEW v AS SELECT * FROM api_keys"), 422, "view"),
    "a table replaced by a view": (
        _sql("DROP TABLE pricing", "CREATE VIEW pricing AS SELECT * FROM omniroute_backup"),
        422,
        "view",
    ),
    "an unknown table": (_sql("CREATE TABLE evil (x TEXT)"), 422, "unknown table"),
    "a missing table": (_sql("DROP TABLE combos"), 422, "combos: the table is missing"),
    "a missing column": (_sql("ALTER TABLE api_keys DROP COLUMN key_prefix"), 422, "api_keys.key_prefix"),
    "an extra column": (_sql("ALTER TABLE combos ADD COLUMN payload TEXT"), 422, "combos.payload"),
    "a wrong column type": (
        _sql("ALTER TABLE settings DROP COLUMN value", "ALTER TABLE settings ADD COLUMN value BLOB"),
        422,
        "settings.value",
    ),
    "not an omniroute export": (_sql("UPDATE omniroute_backup SET value = 'x' WHERE key = 'format'"), 422, "format"),
    "a future format version": (
        _sql("UPDATE omniroute_backup SET value = '99' WHERE key = 'formatVersion'"),
        422,
        "version",
    ),
    "an id that is not a UUID": (_sql("UPDATE api_keys SET id = 'not-a-uuid'"), 422, "api_keys.id"),
    "json that does not parse": (_sql("UPDATE combos SET steps = '[{'"), 422, "combos.steps"),
    "a value of the wrong storage class": (_sql("UPDATE provider_connections SET priority = 'high'"), 422, "priority"),
    "an invalid enum": (_sql("UPDATE combos SET strategy = 'yolo'"), 422, "combos.strategy"),
    "an invalid scope": (_sql("""UPDATE api_keys SET scopes = '["root"]'"""), 422, "api_keys.scopes"),
    "a dangling key reference": (
        _sql("""UPDATE policies SET key_ids = '["6f1c1b7e-0000-4000-8000-000000000000"]'"""),
        422,
        "policies.key_ids",
    ),
    "a dangling connection reference": (
        _sql(
            """UPDATE combos SET steps = '[{"model": "openai/gpt-4o", "connectionId": "6f1c1b7e-0000-4000-8000-000000000001"}]'"""
        ),
        422,
        "connectionId",
    ),
    "a credential moved to another row": (
        _sql("UPDATE provider_nodes SET api_key_enc = (SELECT api_key_enc FROM provider_connections)"),
        422,
        "does not decrypt",
    ),
    "a secret from another key": (_other_key, 422, "STORAGE_ENCRYPTION_KEY"),
    "a duplicate unique name": (
        _sql(
            "INSERT INTO combos SELECT '6f1c1b7e-0000-4000-8000-000000000002', name, strategy, steps, config,"
            " is_active, created_at, updated_at FROM combos"
        ),
        422,
        "nothing was changed",
    ),
    "a NUL in text": (_sql("UPDATE model_aliases SET model = 'a' || char(0) || 'b'"), 422, "NUL"),
    "an out-of-range integer": (_sql("UPDATE policies SET hour_from = 99999"), 422, "policies.hour_from"),
    "a timestamp without zone": (_sql("UPDATE api_keys SET created_at = '2024-01-01T00:00:00'"), 422, "time zone"),
}


@pytest.fixture
async def good_export(admin: AsyncTestClient) -> bytes:
    await populate(admin)
    response = await admin.get("/api/db-backups/export")
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_files_are_refused_and_change_nothing(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis, good_export: bytes, tmp_path: Path, case: str
) -> None:
    breaker, status, message = HOSTILE[case]
    hostile = breaker(good_export, tmp_path)
    before, config, snapshot = await dump_config(pool), await config_version(pool), await version(redis)
    audit = await pool.fetchval("SELECT count(*) FROM audit_log")
    for send in ("multipart", "raw"):
        if send == "multipart":
            response = await admin.post("/api/db-backups/import", files={"file": ("b.sqlite", hostile)})
        else:
            response = await admin.post("/api/db-backups/import", content=hostile)
        assert response.status_code == status, (case, send, response.text)
        error = response.json()["error"]
        assert message in error["message"], (case, error)
        assert "Traceback" not in response.text
    assert await dump_config(pool) == before
    assert await config_version(pool) == config
    assert await version(redis) == snapshot
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == audit


async def test_the_trigger_in_a_refused_file_never_ran(
    admin: AsyncTestClient, pool: asyncpg.Pool, good_export: bytes, tmp_path: Path
) -> None:
    hostile = edited(
        good_export,
        tmp_path,
        "CREATE TABLE pwned (x TEXT)",
        "CREATE TRIGGER t AFTER INSERT ON combos BEGIN SELECT 1; END",
    )
    path = tmp_path / "after.sqlite"
    path.write_bytes(hostile)
    assert (await admin.post("/api/db-backups/import", content=hostile)).status_code == 422
    assert path.read_bytes() == hostile  # our read-only open changed nothing


async def test_oversized_uploads_are_413_before_and_while_reading(
    settings: Settings, redis: Redis, clean_db: None, pool: asyncpg.Pool
) -> None:
    small = dataclasses.replace(settings, backup_max_bytes=8192)
    async with AsyncTestClient(app=create_app(small)) as client:
        await login(client)
        await populate(client)
        before = await dump_config(pool)
        big = MAGIC + b"\x00" * 200_000
        declared = await client.post("/api/db-backups/import", content=big)
        assert declared.status_code == 413, declared.text
        assert declared.json()["error"]["code"] == "too_large"
        multipart = await client.post("/api/db-backups/import", files={"file": ("b.sqlite", big)})
        assert multipart.status_code == 413
        assert await dump_config(pool) == before


async def test_multipart_without_a_file_part_is_400(admin: AsyncTestClient) -> None:
    response = await admin.post(
        "/api/db-backups/import",
        content=b'--xyz\r\nContent-Disposition: form-data; name="note"\r\n\r\nno file here\r\n--xyz--\r\n',
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == 400, response.text
    assert "file" in response.json()["error"]["message"]
    broken = await admin.post(
        "/api/db-backups/import",
        content=b"--xyz\r\nContent-Disposition: form-data; name=file\r\n\r\nabc",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code in (400, 422), broken.text
