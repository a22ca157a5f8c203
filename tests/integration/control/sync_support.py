"""Helpers for the cloud-sync tests: set up sync, read what the remote holds."""

from __future__ import annotations

from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from tests.support.fake_s3 import ACCESS_KEY_ID, BUCKET, REGION, SECRET_ACCESS_KEY, FakeS3

PASSPHRASE = "sync-passphrase-for-tests-0123"
PROVIDER_KEY = "sk-sync-provider-secret-0123456789"


def s3_remote(store: FakeS3, prefix: str = "team") -> dict[str, Any]:
    return {
        "kind": "s3",
        "endpoint": store.url,
        "bucket": BUCKET,
        "prefix": prefix,
        "region": REGION,
        "accessKeyId": ACCESS_KEY_ID,
        "secretAccessKey": SECRET_ACCESS_KEY,
    }


async def initialize(client: AsyncTestClient | httpx.AsyncClient, remote: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/sync/initialize", json={"remote": remote, "passphrase": PASSPHRASE})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sync(client: AsyncTestClient | httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/api/sync/cloud", json={"action": "sync"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def aliases(client: AsyncTestClient | httpx.AsyncClient) -> dict[str, str]:
    response = await client.get("/api/models/alias")
    assert response.status_code == 200, response.text
    found: dict[str, str] = response.json()["aliases"]
    return found
