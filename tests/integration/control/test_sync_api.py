"""/api/sync/* and /api/cloud/* against the real database, Redis and a loopback fake S3."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from services.control.changes import ConfigWriter
from services.control.db.pool import create_pool
from services.control.publish import SnapshotPublisher
from services.control.state import ControlState
from services.control.sync.schedule import sync_if_due
from shared import jsonx
from shared.config.snapshot import SnapshotCodec
from shared.crypto import FieldCipher
from shared.settings import Settings
from shared.sync.bundle import open_bundle, seal_bundle
from tests.integration.conftest import DATABASE, REDIS_DB
from tests.integration.control.sync_support import PASSPHRASE, PROVIDER_KEY, aliases, initialize, s3_remote, sync
from tests.support.auth import login
from tests.support.env import settings_for
from tests.support.fake_s3 import SECRET_ACCESS_KEY, FakeS3, threaded_fake_s3

OBJECT = "team/omniroute-config.bundle"


@pytest.fixture
def s3() -> Iterator[FakeS3]:
    with threaded_fake_s3() as store:
        yield store


def _alias_record(alias: str, model: str, v_us: int) -> dict[str, object]:
    stamp = datetime.fromtimestamp(v_us / 1_000_000, UTC).isoformat()
    row = {"alias": alias, "model": model, "created_at": stamp, "updated_at": stamp}
    return {"table": "model_aliases", "key": alias, "v": v_us, "deleted": False, "row": row, "secrets": {}}


async def test_status_before_initialize_and_actions_need_it(admin: AsyncTestClient) -> None:
    status = (await admin.get("/api/sync/cloud")).json()
    assert status["initialized"] is False and status["enabled"] is False and status["remote"] is None
    refused = await admin.post("/api/sync/cloud", json={"action": "sync"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "sync_not_initialized"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"remote": {"kind": "none"}}, "passphrase"),
        ({"remote": {"kind": "none"}, "passphrase": "short"}, "passphrase"),
        ({"remote": {"kind": "ftp"}, "passphrase": PASSPHRASE}, "remote.kind"),
        ({"remote": {"kind": "s3", "endpoint": "http://127.0.0.1:1"}, "passphrase": PASSPHRASE}, "remote.bucket"),
        ({"remote": {"kind": "peer", "token": "t"}, "passphrase": PASSPHRASE}, "remote.url"),
        ({"remote": {"kind": "peer", "url": "ftp://x", "token": "t"}, "passphrase": PASSPHRASE}, "remote.url"),
        (
            {"remote": {"kind": "peer", "url": "http://u:p@h.example", "token": "t"}, "passphrase": PASSPHRASE},
            "remote.url",
        ),
        ({"remote": {"kind": "none", "url": "http://h.example"}, "passphrase": PASSPHRASE}, "remote.url"),
        (
            {
                "remote": {"kind": "peer", "url": "http://h.example", "token": "t", "bucket": "b"},
                "passphrase": PASSPHRASE,
            },
            "remote.bucket",
        ),
        ({"remote": {"kind": "none"}, "passphrase": PASSPHRASE, "intervalSeconds": 1}, "intervalSeconds"),
        ({"remote": {"kind": "none"}, "passphrase": PASSPHRASE, "extra": 1}, "extra"),
    ],
)
async def test_bad_initialize_input_names_the_field(
    admin: AsyncTestClient, body: dict[str, object], field: str
) -> None:
    response = await admin.post("/api/sync/initialize", json=body)
    assert response.status_code == 400, response.text
    assert field in response.text


async def test_remote_urls_pass_the_ssrf_guard(settings: Settings, redis: object, clean_db: None) -> None:
    guarded = settings_for(DATABASE, REDIS_DB, OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS="false")
    async with AsyncTestClient(app=create_app(guarded)) as client:
        await login(client)
        for url in (
            "http://127.0.0.1:9000",
            "http://169.254.169.254",
            "http://0x7f.1",
            "http://[::ffff:10.0.0.1]",
            "http://localhost",
        ):
            peer = await client.post(
                "/api/sync/initialize",
                json={"remote": {"kind": "peer", "url": url, "token": "t"}, "passphrase": PASSPHRASE},
            )
            assert peer.status_code == 400 and "remote.url" in peer.text, (url, peer.text)
            remote = {**s3_remote(FakeS3(url=url))}
            s3 = await client.post("/api/sync/initialize", json={"remote": remote, "passphrase": PASSPHRASE})
            assert s3.status_code == 400 and "remote.endpoint" in s3.text, (url, s3.text)


async def test_initialize_masks_secrets_and_shows_the_cloud_token_once(admin: AsyncTestClient, s3: FakeS3) -> None:
    created = await initialize(admin, s3_remote(s3))
    token = created["cloudToken"]
    assert token.startswith("omni-sync-") and created["cloudTokenSet"] is True
    assert created["remote"]["secret"] == "********" and created["remote"]["accessKeyId"]
    status = await admin.get("/api/sync/cloud")
    assert status.json()["cloudToken"] is None
    audit = await admin.get("/api/compliance/audit-log")
    assert audit.status_code == 200 and "sync.initialized" in audit.text
    for text in (created.__repr__(), status.text, audit.text):
        assert SECRET_ACCESS_KEY not in text and PASSPHRASE not in text
    assert token not in status.text and token not in audit.text
    again = await admin.post("/api/sync/initialize", json={"remote": s3_remote(s3)})  # passphrase kept
    assert again.status_code == 200 and again.json()["cloudToken"] is None
    rotated = await admin.post("/api/sync/initialize", json={"remote": s3_remote(s3), "rotateCloudToken": True})
    assert rotated.json()["cloudToken"] not in (None, token)


async def test_sync_pushes_an_encrypted_bundle_to_s3_and_is_idempotent(admin: AsyncTestClient, s3: FakeS3) -> None:
    await initialize(admin, s3_remote(s3))
    provider = await admin.post("/api/providers", json={"provider": "openai", "name": "main", "apiKey": PROVIDER_KEY})
    assert provider.status_code == 201, provider.text
    assert (
        await admin.post("/api/models/alias", json={"alias": "fast", "model": "openai/gpt-4o-mini"})
    ).status_code == 201
    first = await sync(admin)
    assert first["pushed"] is True and first["bundleVersion"] == 1 and first["lastError"] is None
    blob = s3.objects[OBJECT]
    assert PROVIDER_KEY.encode() not in blob and b"fast" not in blob
    records = open_bundle(blob, PASSPHRASE).records
    connection = next(r for r in records if r["table"] == "provider_connections")
    assert connection["secrets"]["api_key_enc"] == PROVIDER_KEY and "api_key_enc" not in connection["row"]
    second = await sync(admin)
    assert second["pushed"] is False and second["bundleVersion"] == 1
    assert [r for r in s3.requests if r.startswith("PUT")] == ["PUT 200"]


async def test_a_concurrent_writer_on_s3_is_merged_not_overwritten(admin: AsyncTestClient, s3: FakeS3) -> None:
    await initialize(admin, s3_remote(s3))
    assert (await admin.post("/api/models/alias", json={"alias": "mine", "model": "openai/gpt-4o"})).status_code == 201
    await sync(admin)
    # Another install pushed version 2 with its own alias in the meantime.
    records = open_bundle(s3.objects[OBJECT], PASSPHRASE).records
    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    records.append(_alias_record("theirs", "openai/gpt-4o-mini", now_us))
    s3.objects[OBJECT] = seal_bundle(records, 2, PASSPHRASE)
    assert (await admin.post("/api/models/alias", json={"alias": "later", "model": "openai/gpt-4o"})).status_code == 201
    result = await sync(admin)
    assert result["applied"] == 1 and result["pushed"] is True and result["bundleVersion"] == 3
    assert set(await aliases(admin)) == {"mine", "theirs", "later"}
    stored = {r["key"] for r in open_bundle(s3.objects[OBJECT], PASSPHRASE).records if r["table"] == "model_aliases"}
    assert stored == {"mine", "theirs", "later"}


async def test_a_write_racing_the_push_makes_the_sync_pull_merge_and_push_again(
    admin: AsyncTestClient, s3: FakeS3
) -> None:
    await initialize(admin, s3_remote(s3))
    assert (await admin.post("/api/models/alias", json={"alias": "ours", "model": "openai/gpt-4o"})).status_code == 201

    def another_install_pushes(store: FakeS3) -> None:
        now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
        store.objects[OBJECT] = seal_bundle([_alias_record("racer", "openai/gpt-4o", now_us)], 5, PASSPHRASE)

    s3.before_next_put = another_install_pushes
    result = await sync(admin)
    assert s3.requests == ["GET 404", "PUT 412", "GET 200", "PUT 200"]
    assert result["pushed"] is True and result["bundleVersion"] == 6 and result["applied"] == 1
    assert set(await aliases(admin)) == {"ours", "racer"}
    stored = open_bundle(s3.objects[OBJECT], PASSPHRASE)
    assert stored.version == 6 and {r["key"] for r in stored.records} >= {"ours", "racer"}


async def test_a_tampered_s3_bundle_is_refused_and_changes_nothing(admin: AsyncTestClient, s3: FakeS3) -> None:
    await initialize(admin, s3_remote(s3))
    await sync(admin)
    document = jsonx.loads(s3.objects[OBJECT])
    raw = bytearray(base64.b64decode(document["ciphertext"]))
    raw[5] ^= 0xFF
    document["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    s3.objects[OBJECT] = jsonx.dumps(document)
    before = (await admin.get("/api/sync/cloud")).json()["localVersion"]
    refused = await admin.post("/api/sync/cloud", json={"action": "sync"})
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "bundle_refused"
    status = (await admin.get("/api/sync/cloud")).json()
    assert "does not authenticate" in status["lastError"] and status["localVersion"] == before


async def test_wrong_s3_credentials_are_reported_without_the_secret(admin: AsyncTestClient, s3: FakeS3) -> None:
    remote = {**s3_remote(s3), "secretAccessKey": "not-the-right-secret-key"}
    await initialize(admin, remote)
    failed = await admin.post("/api/sync/cloud", json={"action": "sync"})
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "remote_error"
    assert "403" in failed.text and "not-the-right" not in failed.text


def _state(settings: Settings, pool: asyncpg.Pool, redis: Redis) -> ControlState:
    key = settings.storage_encryption_key or ""
    cipher = FieldCipher(key, "provider-credentials")
    publisher = SnapshotPublisher(pool, redis, SnapshotCodec(key), cipher, settings.snapshot_republish_seconds)
    return ControlState(
        settings=settings,
        pool=pool,
        redis=redis,
        cipher=cipher,
        publisher=publisher,
        writer=ConfigWriter(pool, publisher),
        session_secret="unused",
    )


async def test_enable_disable_and_the_schedule(
    admin: AsyncTestClient, s3: FakeS3, settings: Settings, redis: Redis
) -> None:
    await initialize(admin, s3_remote(s3))
    bad = await admin.post("/api/sync/cloud", json={"action": "explode"})
    assert bad.status_code == 400 and "action" in bad.text
    enabled = await admin.post("/api/sync/cloud", json={"action": "enable"})
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    pool = await create_pool(settings.database_url, max_size=2)  # this loop's (the app runs on the portal's)
    try:
        await _schedule_runs_only_when_due(admin, s3, _state(settings, pool, redis))
    finally:
        await pool.close()


async def _schedule_runs_only_when_due(admin: AsyncTestClient, s3: FakeS3, state: ControlState) -> None:
    assert await sync_if_due(state) is True  # never synced: due now
    assert OBJECT in s3.objects
    assert await sync_if_due(state) is False  # within the interval
    disabled = await admin.post("/api/sync/cloud", json={"action": "disable"})
    assert disabled.json()["enabled"] is False
    assert await sync_if_due(state, now=datetime(2100, 1, 1, tzinfo=UTC)) is False
    actions = (await admin.get("/api/compliance/audit-log")).text
    assert "sync.enabled" in actions and "sync.disabled" in actions


async def test_cloud_routes_accept_only_the_sync_token(admin: AsyncTestClient) -> None:
    token = (await initialize(admin, {"kind": "none"}))["cloudToken"]
    assert (await admin.get("/api/cloud/bundle")).status_code == 401  # the admin cookie is not enough
    key = await admin.post("/api/keys", json={"name": "adm", "scopes": ["admin"]})
    admin_key = key.json()["key"]
    for header in ("", f"Bearer {admin_key}", "Bearer omni-sync-wrong", f"Basic {token}", token):
        response = await admin.get("/api/cloud/bundle", headers={"authorization": header})
        assert response.status_code == 401, header
    good = await admin.get("/api/cloud/bundle", headers={"authorization": f"Bearer {token}"})
    assert good.status_code == 200 and good.json()["version"] == 0


async def test_cloud_put_checks_revision_authenticity_and_version(admin: AsyncTestClient) -> None:
    token = (await initialize(admin, {"kind": "none"}))["cloudToken"]
    auth = {"authorization": f"Bearer {token}"}
    current = (await admin.get("/api/cloud/bundle", headers=auth)).json()
    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    bundle = seal_bundle([_alias_record("pushed", "openai/gpt-4o", now_us)], 1, PASSPHRASE)
    encoded = base64.b64encode(bundle).decode()

    stale = await admin.put("/api/cloud/bundle", headers=auth, json={"bundle": encoded, "ifRevision": "0.0"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    other = base64.b64encode(seal_bundle([], 1, "some other passphrase!!")).decode()
    forged = await admin.put(
        "/api/cloud/bundle", headers=auth, json={"bundle": other, "ifRevision": current["revision"]}
    )
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "bundle_refused"
    for junk in ("not base64!", base64.b64encode(b"{}").decode()):
        bad = await admin.put(
            "/api/cloud/bundle", headers=auth, json={"bundle": junk, "ifRevision": current["revision"]}
        )
        assert bad.status_code == 400, bad.text
    missing = await admin.put("/api/cloud/bundle", headers=auth, json={"bundle": encoded})
    assert missing.status_code == 400 and "ifRevision" in missing.text

    accepted = await admin.put(
        "/api/cloud/bundle", headers=auth, json={"bundle": encoded, "ifRevision": current["revision"]}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["written"] == 1 and "pushed" in await aliases(admin)
    after = (await admin.get("/api/cloud/bundle", headers=auth)).json()
    assert after["version"] == 1
    replay = await admin.put(
        "/api/cloud/bundle", headers=auth, json={"bundle": encoded, "ifRevision": after["revision"]}
    )
    assert replay.status_code == 400 and "not newer" in replay.text
    assert "sync.receive" in (await admin.get("/api/compliance/audit-log")).text
