"""SSRF: every spelling of a loopback, private, link-local or metadata address is refused as an
upstream URL by POST/PUT /api/providers and /api/provider-nodes when private upstreams are not
allowed (production). DNS is never asked about real names: the names that must resolve to
loopback (`runsc`, `vm`, `localhost`) come from /etc/hosts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared.settings import Settings
from tests.support.auth import login

PAYLOADS = (
    "http://127.0.0.1/v1",
    "http://127.0.0.1:9000/v1",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://017700000001/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://169.254.169.254./",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.google.internal./",
    "http://METADATA.GOOGLE.INTERNAL/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://10.0.0.1/",
    "http://10.1/",
    "http://167772161/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://[::ffff:192.168.1.1]/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://localhost/",
    "http://localhost./",
    "http://LOCALHOST/",
    "http://LocalHost:8080/",
    "http://foo.localhost/",
    "http://runsc/",
    "http://vm:8080/v1",
    "http://RUNSC./",
    "http://１２７.０.０.１/",
    "http://127。0。0。1/",
    "http://ｌｏｃａｌｈｏｓｔ/",
    "http://127.0.0.1.:80/",
    "http://evil@127.0.0.1/",
    "http://user:pass@127.0.0.1/",
    "http://127.0.0.1#@evil.com/",
    "http://127.0.0.1\\@evil.com/",
    "http://127.0.0.1%2f@evil.com/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[::ffff:0:7f00:1]/",
    "http://0x7f.1/",
    "http://00000177.0.0.1/",
    "http://127.000.000.001/",
    "http://0300.0250.0.1/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "https://127.0.0.1:443/",
    "http://127.0.0.1:0/",
    "http://[::ffff:7f00:0001]/",
    "http://127.0.0.1 /",
    "http://127.0.0.1\t/",
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1/",
    "http://192.0.0.170/",
    "http://198.18.0.1/",
    "http://instance-data/",
    "http://metadata/",
)
PUBLIC_LOOKING = "https://api.example.invalid/v1"  # never resolves: no DNS beyond loopback here


@pytest.fixture
async def strict(settings: Settings, redis: Redis, clean_db: None) -> AsyncIterator[AsyncTestClient]:
    production = dataclasses.replace(settings, allow_private_upstreams=False)
    async with AsyncTestClient(app=create_app(production)) as client:
        await login(client)
        yield client


def _refused(response_status: int, body: dict[str, object]) -> bool:
    if response_status not in (400, 422):
        return False
    details = body["error"].get("details") if isinstance(body.get("error"), dict) else None  # type: ignore[union-attr]
    return not details or any(d.get("field") in ("baseUrl", "providerSpecificData.baseUrl") for d in details)


def test_the_list_is_long_enough() -> None:
    assert len(set(PAYLOADS)) >= 30


async def test_provider_base_urls_are_refused_in_every_spelling(strict: AsyncTestClient) -> None:
    accepted = []
    for n, url in enumerate(PAYLOADS):
        for body in (
            {"provider": "openai", "name": f"p{n}", "apiKey": "sk-x", "baseUrl": url},
            {"provider": "openai", "name": f"q{n}", "apiKey": "sk-x", "providerSpecificData": {"baseUrl": url}},
        ):
            response = await strict.post("/api/providers", json=body)
            if not _refused(response.status_code, response.json()):
                accepted.append((url, response.status_code))
    assert not accepted, accepted
    assert (await strict.get("/api/providers")).json()["providers"] == []


async def test_node_base_urls_are_refused_in_every_spelling(strict: AsyncTestClient) -> None:
    accepted = []
    for n, url in enumerate(PAYLOADS):
        body = {"prefix": f"node{n}", "name": f"node {n}", "type": "openai-compatible", "baseUrl": url}
        response = await strict.post("/api/provider-nodes", json=body)
        if not _refused(response.status_code, response.json()):
            accepted.append((url, response.status_code))
    assert not accepted, accepted
    assert (await strict.get("/api/provider-nodes")).json()["total"] == 0


async def test_updates_cannot_move_an_upstream_to_a_private_address(strict: AsyncTestClient) -> None:
    provider = await strict.post(
        "/api/providers", json={"provider": "openai", "name": "pub", "apiKey": "sk-x", "baseUrl": PUBLIC_LOOKING}
    )
    assert provider.status_code == 201, provider.text
    node = await strict.post(
        "/api/provider-nodes",
        json={"prefix": "pubnode", "name": "pub", "type": "anthropic-compatible", "baseUrl": PUBLIC_LOOKING},
    )
    assert node.status_code == 201, node.text
    for url in PAYLOADS:
        moved = await strict.put(f"/api/providers/{provider.json()['id']}", json={"baseUrl": url})
        assert _refused(moved.status_code, moved.json()), (url, moved.status_code)
        moved = await strict.put(f"/api/provider-nodes/{node.json()['id']}", json={"baseUrl": url})
        assert _refused(moved.status_code, moved.json()), (url, moved.status_code)
    assert (await strict.get(f"/api/providers/{provider.json()['id']}")).json()["baseUrl"] == PUBLIC_LOOKING
