"""/api/db-backups against the real Postgres and Redis: list, create, restore, export, import, exportAll."""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import subprocess
import tarfile
import uuid
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared import jsonx
from tests.integration.control.backup_support import (
    NODE_KEY,
    PROVIDER_KEY,
    PROXY_PASSWORD,
    add_usage,
    config_version,
    dump_config,
    edited,
    populate,
    wipe_config,
)
from tests.integration.control.routing_support import published, version

SQLITE_TYPE = "application/vnd.sqlite3"


@pytest.fixture(autouse=True)
async def no_backups(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE db_backups")


async def export_bytes(admin: AsyncTestClient) -> bytes:
    response = await admin.get("/api/db-backups/export")
    assert response.status_code == 200, response.text
    return response.content


async def test_export_is_a_sqlite_file_with_every_table_and_no_plaintext_secret(
    admin: AsyncTestClient, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await populate(admin)
    await add_usage(pool, 25)
    response = await admin.get("/api/db-backups/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == SQLITE_TYPE
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".sqlite" in disposition and "omniroute-backup-" in disposition
    body = response.content
    assert body.startswith(b"SQLite format 3\x00")
    for secret in (PROVIDER_KEY, NODE_KEY, PROXY_PASSWORD):
        assert secret.encode() not in body
    path = tmp_path / "export.sqlite"
    path.write_bytes(body)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counts = {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in ("provider_connections", "provider_nodes", "api_keys", "combos", "usage_events")
        }
        blob = conn.execute("SELECT api_key_enc FROM provider_connections").fetchone()[0]
        meta = dict(conn.execute("SELECT key, value FROM omniroute_backup").fetchall())
    assert counts == {"provider_connections": 1, "provider_nodes": 1, "api_keys": 1, "combos": 1, "usage_events": 25}
    assert isinstance(blob, bytes) and blob.startswith(b"v1")  # ciphertext as stored
    assert meta["format"] == "omniroute-backup" and meta["formatVersion"] == "1"
    cli = shutil.which("sqlite3")
    if cli:  # the sqlite3 tool opens it too
        out = subprocess.run(
            [cli, str(path), "PRAGMA integrity_check; SELECT count(*) FROM usage_events; SELECT name FROM combos;"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert out.stdout.split() == ["ok", "25", "smart"]


async def test_round_trip_export_wipe_import_gives_the_same_configuration(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    ids = await populate(admin)
    await add_usage(pool, 3)
    before = await dump_config(pool)
    exported = await export_bytes(admin)
    await wipe_config(pool)
    await pool.execute("DELETE FROM usage_events")
    assert (await dump_config(pool))["api_keys"] == []
    start = await version(redis)
    response = await admin.post(
        "/api/db-backups/import", files={"file": ("any/../../name.sqlite", exported, SQLITE_TYPE)}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["restored"] is True and answer["source"] == "upload"
    assert answer["rowCounts"]["provider_connections"] == 1 and answer["rowCounts"]["policies"] == 1
    assert await dump_config(pool) == before
    # usage is carried in the file but never written back
    assert await pool.fetchval("SELECT count(*) FROM usage_events") == 0
    snapshot = await published(redis)
    assert snapshot.version > start
    assert [c.api_key for c in snapshot.connections] == [PROVIDER_KEY]
    assert [k.id for k in snapshot.keys] == [ids["key"]]
    assert [c.name for c in snapshot.combos] == ["smart"]
    audit = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'backup.imported'")
    assert audit is not None and audit["target_type"] == "db_backup" and audit["actor"] == "admin"
    # the restored key works for the same raw key (hash restored exactly)
    assert snapshot.keys[0].key_hash == hashlib.sha256(ids["raw_key"].encode()).hexdigest()


async def test_raw_body_import_works_too(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    await populate(admin)
    before = await dump_config(pool)
    exported = await export_bytes(admin)
    await wipe_config(pool)
    response = await admin.post(
        "/api/db-backups/import", content=exported, headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 200, response.text
    assert await dump_config(pool) == before


async def test_create_list_and_restore_a_stored_backup(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    ids = await populate(admin)
    await add_usage(pool, 4)
    before = await dump_config(pool)
    created = await admin.put("/api/db-backups")
    assert created.status_code == 201, created.text
    backup = created.json()
    assert backup["kind"] == "manual" and backup["sizeBytes"] > 0 and len(backup["sha256"]) == 64
    assert backup["rowCounts"]["usage_events"] == 4 and backup["rowCounts"]["api_keys"] == 1
    assert "provider_connections" in backup["tables"] and "usage_events" in backup["tables"]
    listed = (await admin.get("/api/db-backups")).json()["backups"]
    assert [b["id"] for b in listed] == [backup["id"]]
    assert listed[0]["createdAt"] == backup["createdAt"]
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'backup.created'") == 1
    # change the configuration, then restore
    assert (await admin.delete(f"/api/keys/{ids['key']}")).status_code in (200, 204)
    assert (await admin.delete(f"/api/providers/{ids['connection']}")).status_code in (200, 204)
    assert await dump_config(pool) != before
    start = await version(redis)
    restored = await admin.post("/api/db-backups", json={"backupId": backup["id"]})
    assert restored.status_code == 200, restored.text
    assert restored.json()["source"] == backup["id"]
    assert await dump_config(pool) == before
    assert await version(redis) > start
    assert [c.api_key for c in (await published(redis)).connections] == [PROVIDER_KEY]
    audit = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'backup.restored'")
    assert audit is not None and audit["target_id"] == backup["id"]


async def test_restore_bad_ids(admin: AsyncTestClient) -> None:
    missing = await admin.post("/api/db-backups", json={"backupId": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    malformed = await admin.post("/api/db-backups", json={"backupId": "../../etc/passwd"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["details"][0]["field"] == "backupId"
    assert (await admin.post("/api/db-backups", json={})).status_code == 400
    assert (await admin.post("/api/db-backups", json={"backupId": "x", "extra": 1})).status_code == 400


async def test_manual_backups_keep_the_newest_of_the_retention_setting(
    admin: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    assert (await admin.patch("/api/settings", json={"backupRetention": 2})).status_code == 200
    made = [(await admin.put("/api/db-backups")).json()["id"] for _ in range(4)]
    listed = [b["id"] for b in (await admin.get("/api/db-backups")).json()["backups"]]
    assert listed == made[:1:-1]  # the newest two, newest first


async def test_export_all_is_a_tar_gz_with_the_export_and_its_manifest(
    admin: AsyncTestClient, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await populate(admin)
    await add_usage(pool, 7)
    response = await admin.get("/api/db-backups/exportAll")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    assert ".tar.gz" in response.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["manifest.json", "omniroute-export.sqlite"]
        export_member = archive.extractfile("omniroute-export.sqlite")
        manifest_member = archive.extractfile("manifest.json")
        assert export_member is not None and manifest_member is not None
        export = export_member.read()
        manifest = jsonx.loads(manifest_member.read())
    assert manifest["version"] == 1 and manifest["format"] == "omniroute-backup"
    assert manifest["sha256"] == hashlib.sha256(export).hexdigest()
    assert manifest["sizeBytes"] == len(export)
    assert manifest["createdAt"]
    assert manifest["rowCounts"]["usage_events"] == 7 and manifest["rowCounts"]["provider_connections"] == 1
    assert set(manifest["tables"]) == set(manifest["rowCounts"])
    path = tmp_path / "inner.sqlite"
    path.write_bytes(export)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM usage_events").fetchone() == (7,)
    # the export inside the archive imports as any other
    before = await dump_config(pool)
    await wipe_config(pool)
    imported = await admin.post("/api/db-backups/import", files={"file": ("x.sqlite", export)})
    assert imported.status_code == 200, imported.text
    assert await dump_config(pool) == before


async def test_an_import_keeps_the_version_order_and_needs_nothing_else(
    admin: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    """An export of an empty configuration imports too: it empties the configuration."""
    empty = await export_bytes(admin)
    await populate(admin)
    start = await config_version(pool)
    response = await admin.post("/api/db-backups/import", content=empty)
    assert response.status_code == 200, response.text
    assert all(rows == [] for rows in (await dump_config(pool)).values())
    assert await config_version(pool) == start + 1


async def test_an_export_from_before_a_migration_added_columns_still_restores(
    admin: AsyncTestClient, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Columns Postgres can fill (nullable or with a default) may be missing from an older export."""
    await populate(admin)
    before = await dump_config(pool)
    older = edited(
        await export_bytes(admin),
        tmp_path,
        "ALTER TABLE provider_connections DROP COLUMN oauth_scope",  # nullable
        "ALTER TABLE provider_connections DROP COLUMN oauth_token_version",  # NOT NULL DEFAULT 0
        "ALTER TABLE combos DROP COLUMN steps",  # NOT NULL DEFAULT '[]'
    )
    await wipe_config(pool)
    response = await admin.post("/api/db-backups/import", content=older)
    assert response.status_code == 200, response.text
    after = await dump_config(pool)
    assert after["provider_connections"] == before["provider_connections"]
    assert len(after["combos"]) == 1 and await pool.fetchval("SELECT steps::text FROM combos") == "[]"


async def test_openapi_documents_the_file_bodies(admin: AsyncTestClient) -> None:
    paths = (await admin.get("/api/openapi.json")).json()["paths"]
    upload = paths["/api/db-backups/import"]["post"]["requestBody"]["content"]
    assert set(upload) == {SQLITE_TYPE, "multipart/form-data"}
    assert list(paths["/api/db-backups/export"]["get"]["responses"]["200"]["content"]) == [SQLITE_TYPE]
    assert list(paths["/api/db-backups/exportAll"]["get"]["responses"]["200"]["content"]) == ["application/gzip"]
