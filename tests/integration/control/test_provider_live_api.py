"""/api/providers/{id}/test, /api/providers/{id}/models and /api/providers/validate against a real fake upstream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared.kv import keys
from shared.settings import Settings
from tests.support.auth import login
from tests.support.loopback_proxies import http_proxy
from tests.support.threaded_upstream import threaded_fake_upstream

UPSTREAM_KEY = "sk-live-test-upstream-key-0123456789abcdef"
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def fake_upstream() -> Iterator[str]:
    with threaded_fake_upstream() as url:
        yield url


@pytest.fixture(autouse=True)
def clear_faults(fake_upstream: str) -> Iterator[None]:
    yield
    httpx.delete(f"{fake_upstream}/_fake/script")


async def create(admin: AsyncTestClient, **body: Any) -> dict[str, Any]:
    response = await admin.post("/api/providers", json={"name": "main", "apiKey": UPSTREAM_KEY, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_test_call_reaches_the_upstream_in_its_dialect(admin: AsyncTestClient, fake_upstream: str) -> None:
    for provider, base in (
        ("openai", f"{fake_upstream}/v1"),
        ("anthropic", fake_upstream),
        ("gemini", fake_upstream),
        ("ollama", fake_upstream),
    ):
        ident = (await create(admin, provider=provider, name=provider, baseUrl=base))["id"]
        response = await admin.post(f"/api/providers/{ident}/test")
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["ok"] is True, (provider, result)
        assert result["status"] == 200
        assert result["latencyMs"] >= 0
        assert "error" not in result
        assert UPSTREAM_KEY not in response.text
    ledger = httpx.get(f"{fake_upstream}/_fake/ledger").json()
    paths = {entry["path"] for entry in ledger}
    assert {"/v1/chat/completions", "/v1/messages", "/api/chat"} <= paths


async def test_the_default_model_or_the_given_one_is_used(admin: AsyncTestClient, fake_upstream: str) -> None:
    ident = (await create(admin, provider="openai", baseUrl=f"{fake_upstream}/v1", defaultModel="demo-chat"))["id"]
    assert (await admin.post(f"/api/providers/{ident}/test")).json()["model"] == "demo-chat"
    given = await admin.post(f"/api/providers/{ident}/test", json={"model": "gpt-4o"})
    assert given.json()["model"] == "gpt-4o"
    assert given.json()["ok"] is True


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "upstream_auth_error", "api_error"),
        (429, "rate_limit_exceeded", "rate_limit_error"),
        (404, "model_not_found", "invalid_request_error"),
        (503, "upstream_error", "api_error"),
    ],
)
async def test_scripted_upstream_errors_are_classified_as_the_edge_does(
    admin: AsyncTestClient, fake_upstream: str, status: int, code: str, kind: str
) -> None:
    ident = (await create(admin, provider="openai", baseUrl=f"{fake_upstream}/v1"))["id"]
    fault = {"status": status, **({"retry_after": 7} if status == 429 else {})}
    httpx.post(f"{fake_upstream}/_fake/script", json={"match": {"model": "gpt-4o-mini"}, "fault": fault})
    response = await admin.post(f"/api/providers/{ident}/test", json={"model": "gpt-4o-mini"})
    assert response.status_code == 200
    result = response.json()
    assert result["ok"] is False
    assert result["status"] == status
    assert result["error"]["code"] == code
    assert result["error"]["type"] == kind
    if status == 429:
        assert result["error"]["retryAfterSeconds"] == 7
    assert UPSTREAM_KEY not in response.text


async def test_an_unreachable_upstream_is_a_result_not_an_error(admin: AsyncTestClient) -> None:
    ident = (await create(admin, provider="openai", baseUrl="http://127.0.0.1:9/v1"))["id"]
    result = (await admin.post(f"/api/providers/{ident}/test")).json()
    assert result["ok"] is False
    assert result["status"] is None
    assert result["error"]["code"] == "upstream_unreachable"


async def test_unknown_ids_and_bad_bodies(admin: AsyncTestClient, fake_upstream: str) -> None:
    for missing in (MISSING, "not-a-uuid"):
        assert (await admin.post(f"/api/providers/{missing}/test")).status_code == 404
        assert (await admin.get(f"/api/providers/{missing}/models")).status_code == 404
    ident = (await create(admin, provider="openai", baseUrl=f"{fake_upstream}/v1"))["id"]
    for body, field in (
        ({"model": ""}, "model"),
        ({"model": 5}, "model"),
        ({"model": "a b"}, "model"),
        ({"model": "x\u0000"}, "model"),
        ({"other": 1}, "other"),
    ):
        response = await admin.post(f"/api/providers/{ident}/test", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["details"][0]["field"] == field
    bad_query = await admin.get(f"/api/providers/{ident}/models", params={"refresh": "maybe"})
    assert bad_query.status_code == 400


async def test_model_lists_come_from_each_upstream_and_are_cached(
    admin: AsyncTestClient, fake_upstream: str, redis: Redis
) -> None:
    expected = {
        "openai": ("/v1", "gpt-4o-mini"),
        "anthropic": ("", "claude-haiku-4-5"),
        "gemini": ("", "gemini-2.5-flash"),
        "ollama": ("", "llama3.2:latest"),
    }
    for provider, (suffix, model) in expected.items():
        ident = (await create(admin, provider=provider, name=provider, baseUrl=fake_upstream + suffix))["id"]
        first = await admin.get(f"/api/providers/{ident}/models")
        assert first.status_code == 200, first.text
        listing = first.json()
        assert listing["source"] == "upstream", (provider, listing)
        assert listing["cached"] is False
        assert f"{provider}/{model}" in [m["id"] for m in listing["models"]], listing
        assert await redis.ttl(keys.provider_models(ident)) > 0
        second = (await admin.get(f"/api/providers/{ident}/models")).json()
        assert second["cached"] is True
        assert second["models"] == listing["models"]
        refreshed = (await admin.get(f"/api/providers/{ident}/models", params={"refresh": "true"})).json()
        assert refreshed["cached"] is False


async def test_a_changed_connection_does_not_reuse_the_cached_list(admin: AsyncTestClient, fake_upstream: str) -> None:
    ident = (await create(admin, provider="openai", baseUrl=f"{fake_upstream}/v1"))["id"]
    assert (await admin.get(f"/api/providers/{ident}/models")).json()["source"] == "upstream"
    await admin.put(f"/api/providers/{ident}", json={"baseUrl": f"{fake_upstream}/nowhere", "models": ["mine"]})
    listing = (await admin.get(f"/api/providers/{ident}/models")).json()
    assert listing["source"] == "catalog"
    assert listing["error"]["code"] == "model_not_found"  # the fake answers 404 there
    ids = [m["id"] for m in listing["models"]]
    assert "openai/gpt-4o" in ids and "openai/mine" in ids


async def test_no_list_endpoint_falls_back_to_the_known_models(admin: AsyncTestClient, fake_upstream: str) -> None:
    ident = (await create(admin, provider="azure", baseUrl=fake_upstream, models=["my-deployment"]))["id"]
    listing = (await admin.get(f"/api/providers/{ident}/models")).json()
    assert listing["source"] == "catalog"
    assert "error" not in listing
    assert [m["id"] for m in listing["models"]] == ["azure/my-deployment"]


async def test_validate_checks_without_writing(
    admin: AsyncTestClient, fake_upstream: str, pool: asyncpg.Pool, redis: Redis
) -> None:
    audits = await pool.fetchval("SELECT count(*) FROM audit_log")
    version = await pool.fetchval("SELECT version FROM config_version")
    body = {"provider": "oai", "name": "candidate", "apiKey": UPSTREAM_KEY, "baseUrl": f"{fake_upstream}/v1/"}
    response = await admin.post("/api/providers/validate", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer == {
        "valid": True,
        "provider": "openai",
        "name": "candidate",
        "baseUrl": f"{fake_upstream}/v1",
        "defaultModel": None,
        "hasApiKey": True,
    }
    live = await admin.post("/api/providers/validate", json={**body, "live": True})
    assert live.json()["test"]["ok"] is True
    assert UPSTREAM_KEY not in live.text
    httpx.post(
        f"{fake_upstream}/_fake/script",
        json={"match": {"apiKey": "sk-wrong-key-000000000000"}, "fault": {"status": 401}},
    )
    refused = await admin.post(
        "/api/providers/validate", json={**body, "apiKey": "sk-wrong-key-000000000000", "live": True}
    )
    assert refused.json()["test"]["error"]["code"] == "upstream_auth_error"
    assert "sk-wrong-key" not in refused.text
    assert await pool.fetchval("SELECT count(*) FROM provider_connections") == 0
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == audits
    assert await pool.fetchval("SELECT version FROM config_version") == version


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "nope", "name": "x"}, "provider"),
        ({"provider": "openai", "name": "x"}, "apiKey"),
        ({"provider": "openai", "name": " ", "apiKey": "sk-1"}, "name"),
        ({"provider": "openai", "name": "x", "apiKey": "sk-1", "baseUrl": "ftp://x"}, "baseUrl"),
        ({"provider": "openai", "name": "x", "apiKey": "sk-1", "live": "yes"}, "live"),
        ({"provider": "openai", "name": "x", "apiKey": "sk-1", "extra": 1}, "extra"),
        ({"name": "x"}, "provider"),
    ],
)
async def test_validate_names_the_bad_field(admin: AsyncTestClient, body: dict[str, Any], field: str) -> None:
    response = await admin.post("/api/providers/validate", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    assert "sk-1" not in response.text


async def test_validate_reports_a_duplicate_name(admin: AsyncTestClient, fake_upstream: str) -> None:
    await create(admin, provider="openai", baseUrl=f"{fake_upstream}/v1")
    response = await admin.post(
        "/api/providers/validate", json={"provider": "openai", "name": "main", "apiKey": UPSTREAM_KEY}
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["field"] == "name"


async def test_private_addresses_are_refused_at_test_time(settings: Settings, redis: Redis, clean_db: None) -> None:
    """A stored URL that points inside (loopback here) is refused when the opt-in is off."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        await login(client)
        ident = (await create(client, provider="openai", baseUrl="http://127.0.0.1:9/v1"))["id"]
    strict = replace(settings, allow_private_upstreams=False)
    async with AsyncTestClient(app=create_app(strict)) as client:
        await login(client)
        result = (await client.post(f"/api/providers/{ident}/test")).json()
        assert result["ok"] is False
        assert result["error"]["code"] == "unsafe_url"
        listing = (await client.get(f"/api/providers/{ident}/models")).json()
        assert listing["source"] == "catalog"
        assert listing["error"]["code"] == "unsafe_url"
        for url in ("http://localhost:9/v1", "http://0x7f000001/v1", "http://169.254.169.254/v1"):
            body = {"provider": "openai", "name": "x", "apiKey": "sk-1", "baseUrl": url}
            response = await client.post("/api/providers/validate", json=body)
            assert response.status_code == 400, url
            assert response.json()["error"]["details"][0]["field"] == "baseUrl"


async def test_the_test_call_goes_through_the_providers_outbound_proxy(
    admin: AsyncTestClient, fake_upstream: str
) -> None:
    """Same path as the edge: the configured proxy carries the call, with its credentials."""
    ident = (await create(admin, provider="openai", baseUrl=f"{fake_upstream}/v1"))["id"]
    with http_proxy("proxy-user", "proxy-pass-0123") as proxy:
        entry = {"type": "http", "host": "127.0.0.1", "port": proxy.port, "username": "proxy-user"}
        put = await admin.put(
            "/api/settings/proxy", json={"providers": {"openai": {**entry, "password": "proxy-pass-0123"}}}
        )
        assert put.status_code == 200, put.text
        response = await admin.post(f"/api/providers/{ident}/test")
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True, response.json()
        assert proxy.log.credentials == ["proxy-user:proxy-pass-0123"]
        assert len(proxy.log.targets) == 1
        assert "proxy-pass-0123" not in response.text
