"""Two control planes, each with its own database, Redis and storage key, synced end to end:
through one another (peer) and through an S3-compatible bucket (the loopback fake S3)."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from shared import jsonx
from shared.crypto import mask_secret
from tests.support.auth import login_sync
from tests.support.db import fresh_database
from tests.support.env import base_env, free_port, redis_url
from tests.support.fake_s3 import ACCESS_KEY_ID, BUCKET, REGION, SECRET_ACCESS_KEY, threaded_fake_s3
from tests.support.redis_server import PrivateRedis

REDIS_DB = 1  # the cloud-sync tests' db; plane B gets a private redis-server
PASSPHRASE = "two-planes-share-this-passphrase"
PROVIDER_KEY = "sk-synced-provider-key-0123456789"


@dataclass
class Plane:
    url: str
    client: httpx.Client
    log: Path


def _start(name: str, redis_address: str, data_dir: Path, **extra: str) -> tuple[subprocess.Popen[bytes], Plane]:
    asyncio.run(fresh_database(name))
    port = free_port()
    env = {**os.environ, **base_env(name, REDIS_DB, OMNIROUTE_DATA_DIR=str(data_dir), **extra)}
    env["REDIS_URL"] = redis_address
    log = data_dir / "control.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "control", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{name} never became ready"
        time.sleep(0.1)
    client = httpx.Client(base_url=url, timeout=30)
    login_sync(client)
    return process, Plane(url, client, log)


@pytest.fixture(scope="module")
def planes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Plane, Plane]]:
    redis.Redis.from_url(redis_url(REDIS_DB)).flushdb()
    private = PrivateRedis()
    private.start()
    started: list[tuple[subprocess.Popen[bytes], Plane]] = []
    try:
        started.append(_start("omniroute_sync_a", redis_url(REDIS_DB), tmp_path_factory.mktemp("sync-a")))
        started.append(
            _start(
                "omniroute_sync_b",
                private.url,
                tmp_path_factory.mktemp("sync-b"),
                STORAGE_ENCRYPTION_KEY="plane-b-has-its-own-storage-key-0123456789",
            )
        )
        yield started[0][1], started[1][1]
    finally:
        for process, plane in started:
            plane.client.close()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        private.stop()


def _ok(response: httpx.Response, status: int = 200) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    return body


def _aliases(plane: Plane) -> dict[str, str]:
    found: dict[str, str] = _ok(plane.client.get("/api/models/alias"))["aliases"]  # type: ignore[assignment]
    return found


def _alias(plane: Plane, alias: str, model: str) -> None:
    _ok(plane.client.post("/api/models/alias", json={"alias": alias, "model": model}), 201)


def _sync(plane: Plane) -> dict[str, object]:
    return _ok(plane.client.post("/api/sync/cloud", json={"action": "sync"}))


def _initialize(plane: Plane, remote: dict[str, str]) -> dict[str, object]:
    return _ok(plane.client.post("/api/sync/initialize", json={"remote": remote, "passphrase": PASSPHRASE}))


def test_two_control_planes_sync_through_each_other_and_through_s3(planes: tuple[Plane, Plane]) -> None:
    a, b = planes
    token = _initialize(b, {"kind": "none"})["cloudToken"]
    assert isinstance(token, str)
    _initialize(a, {"kind": "peer", "url": b.url, "token": token})

    # Changes on both sides to different records: both survive, credentials work on B.
    _ok(a.client.post("/api/providers", json={"provider": "openai", "name": "main", "apiKey": PROVIDER_KEY}), 201)
    _alias(a, "from-a", "openai/gpt-4o")
    _alias(b, "from-b", "openai/gpt-4o-mini")
    first = _sync(a)
    assert first["pushed"] is True and first["applied"] == 1
    assert {"from-a", "from-b"} <= set(_aliases(a)) and {"from-a", "from-b"} <= set(_aliases(b))
    connections = _ok(b.client.get("/api/providers"))["providers"]
    assert [c["apiKey"] for c in connections] == [mask_secret(PROVIDER_KEY)]  # type: ignore[union-attr, index]
    assert _sync(a)["pushed"] is False  # nothing new on either side

    # The same record changed on both: the later change (higher version) wins on both sides,
    # and a deletion on B travels to A as a tombstone.
    _alias(a, "shared", "openai/gpt-4o")
    time.sleep(0.01)
    _alias(b, "shared", "openai/gpt-4o-mini")
    _ok(b.client.delete("/api/models/alias", params={"alias": "from-a"}))
    _sync(a)
    for plane in (a, b):
        found = _aliases(plane)
        assert found["shared"] == "openai/gpt-4o-mini" and "from-a" not in found, plane.url

    # A tampered bundle is refused by B and changes nothing there.
    auth = {"authorization": f"Bearer {token}"}
    current = _ok(b.client.get("/api/cloud/bundle", headers=auth))
    document = jsonx.loads(base64.b64decode(str(current["bundle"])))
    document["version"] = int(current["version"]) + 1  # type: ignore[call-overload]
    forged = base64.b64encode(jsonx.dumps(document)).decode()
    refused = b.client.put(
        "/api/cloud/bundle", headers=auth, json={"bundle": forged, "ifRevision": current["revision"]}
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bundle_refused"
    assert _ok(b.client.get("/api/cloud/bundle", headers=auth))["version"] == current["version"]

    # Both planes through one bucket: a change on A reaches B through S3.
    with threaded_fake_s3() as s3:
        remote = {
            "kind": "s3",
            "endpoint": s3.url,
            "bucket": BUCKET,
            "prefix": "shared",
            "region": REGION,
            "accessKeyId": ACCESS_KEY_ID,
            "secretAccessKey": SECRET_ACCESS_KEY,
        }
        _initialize(a, remote)
        _initialize(b, remote)
        _alias(a, "via-s3", "openai/gpt-4o")
        pushed = _sync(a)
        assert pushed["pushed"] is True
        _alias(b, "b-via-s3", "openai/gpt-4o")
        pulled = _sync(b)
        assert pulled["applied"] == 1 and pulled["pushed"] is True
        assert int(pulled["bundleVersion"]) > int(pushed["bundleVersion"])  # type: ignore[call-overload]
        _sync(a)
        assert {"via-s3", "b-via-s3", "shared"} <= set(_aliases(a)) == set(_aliases(b))
