"""/api/settings/proxy and /api/settings/proxy/test against real Postgres, Redis and loopback proxies.

Proxy passwords: encrypted at rest, masked in every answer, absent from the audit table, and
carried (decrypted) only inside the encrypted snapshot. Validation is 422 naming the field; the
test endpoint goes through real HTTP and SOCKS5 proxies and the SSRF guard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared import jsonx
from shared.config.snapshot import Snapshot, SnapshotCodec
from shared.kv.config_channel import ConfigChannel
from shared.settings import Settings
from tests.support.auth import login
from tests.support.env import STORAGE_KEY
from tests.support.loopback_proxies import canned_responder, http_proxy, socks5_proxy

PROXY = "/api/settings/proxy"
TEST = "/api/settings/proxy/test"
USER, PASSWORD = "proxy-admin", "pr0xy-Pa55word-never-shown"
MASK = "********"


def _entry(kind: str = "http", port: int = 3128, host: str = "proxy.example.com", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "host": host, "port": port, **extra}


async def _snapshot(redis: Redis) -> Snapshot:
    stored = await ConfigChannel(redis).load()
    assert stored is not None
    return SnapshotCodec(STORAGE_KEY).decode(stored.blob, stored.version)


async def _audit_text(pool: asyncpg.Pool) -> str:
    rows = await pool.fetch("SELECT * FROM audit_log")
    return repr([dict(row) for row in rows])


def _assert_422(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["details"][0]["field"] == field, error
    assert PASSWORD not in response.text


@pytest.fixture
async def strict_admin(settings: Settings, redis: Redis, clean_db: None) -> AsyncIterator[AsyncTestClient]:
    """An admin session on a control plane that does not allow private upstreams."""
    async with AsyncTestClient(app=create_app(replace(settings, allow_private_upstreams=False))) as client:
        await login(client)
        yield client


async def test_default_is_direct(admin: AsyncTestClient) -> None:
    response = await admin.get(PROXY)
    assert response.status_code == 200
    assert response.json() == {"global": None, "providers": {}}


async def test_put_stores_encrypted_answers_masked_audits_scrubbed_and_publishes(
    admin: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    body = {
        "global": _entry(username=USER, password=PASSWORD),
        "providers": {"openai": _entry("socks5h", 1080, "socks.example.com"), "groq": {"type": "none"}},
    }
    response = await admin.put(PROXY, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["global"] == {
        "type": "http",
        "host": "proxy.example.com",
        "port": 3128,
        "username": USER,
        "password": MASK,
        "hasPassword": True,
    }
    assert answer["providers"] == {
        "groq": {"type": "none"},
        "openai": {"type": "socks5h", "host": "socks.example.com", "port": 1080, "hasPassword": False},
    }
    assert PASSWORD not in response.text
    got = await admin.get(PROXY)
    assert got.json() == answer
    assert PASSWORD not in got.text

    raw = await pool.fetchval("SELECT value::text FROM settings WHERE key = 'proxy'")
    assert PASSWORD not in raw
    row = jsonx.loads(raw)
    assert row["global"]["passwordEnc"]

    audit = await pool.fetch("SELECT * FROM audit_log WHERE target_id = 'proxy'")
    assert [r["action"] for r in audit] == ["settings.updated"]
    assert PASSWORD not in await _audit_text(pool)

    snapshot = await _snapshot(redis)  # the edges' copy (itself encrypted) carries the password
    assert snapshot.settings["proxy"]["global"]["password"] == PASSWORD
    assert "passwordEnc" not in snapshot.settings["proxy"]["global"]
    assert snapshot.settings["proxy"]["providers"]["groq"] == {"type": "none"}


async def test_a_password_is_kept_while_the_proxy_stays_the_same(admin: AsyncTestClient, redis: Redis) -> None:
    await admin.put(PROXY, json={"global": _entry(username=USER, password=PASSWORD)})
    # Sent back as read (masked), or left out: kept.
    echoed = (await admin.get(PROXY)).json()
    assert (await admin.put(PROXY, json=echoed)).status_code == 200
    assert (await admin.put(PROXY, json={"global": _entry(username=USER)})).json()["global"]["hasPassword"]
    assert (await _snapshot(redis)).settings["proxy"]["global"]["password"] == PASSWORD
    # Repointed without the password: refused, so a stored password never follows a new host.
    moved = await admin.put(PROXY, json={"global": _entry(host="elsewhere.example.com", username=USER)})
    _assert_422(moved, "global.password")
    # Null removes it.
    cleared = await admin.put(PROXY, json={"global": _entry(username=USER, password=None)})
    assert cleared.json()["global"]["hasPassword"] is False
    assert (await _snapshot(redis)).settings["proxy"]["global"].get("password") is None


async def test_a_provider_alias_is_stored_under_the_provider_id(admin: AsyncTestClient) -> None:
    response = await admin.put(PROXY, json={"providers": {"OpenAI": _entry()}})
    assert response.status_code == 200, response.text
    assert list(response.json()["providers"]) == ["openai"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"global": _entry("ftp")}, "global.type"),
        ({"global": _entry("socks4")}, "global.type"),
        ({"global": {"host": "h.example.com", "port": 1}}, "global.type"),
        ({"global": _entry(port=0)}, "global.port"),
        ({"global": _entry(port=65536)}, "global.port"),
        ({"global": _entry(port="3128")}, "global.port"),
        ({"global": _entry(port=True)}, "global.port"),
        ({"global": {"type": "http", "host": "h.example.com"}}, "global.port"),
        ({"global": _entry(host="")}, "global.host"),
        ({"global": _entry(host="http://proxy.example.com")}, "global.host"),
        ({"global": _entry(host="user:pw@proxy.example.com")}, "global.host"),
        ({"global": _entry(host="proxy.example.com/path")}, "global.host"),
        ({"global": _entry(host="bad host")}, "global.host"),
        ({"global": _entry(host=5)}, "global.host"),
        ({"global": _entry(username="a:b", password="x")}, "global.username"),
        ({"global": _entry(username="x" * 256)}, "global.username"),
        ({"global": _entry(password=PASSWORD)}, "global.password"),
        ({"global": _entry(username="u", password="p\nq")}, "global.password"),
        ({"global": _entry(color="red")}, "global.color"),
        ({"global": {"type": "none", "host": "h"}}, "global.host"),
        ({"global": "http://proxy:3128"}, "global"),
        ({"providers": {"no-such-provider": _entry()}}, "providers.no-such-provider"),
        ({"providers": {"openai": _entry(port=-1)}}, "providers.openai.port"),
        ({"providers": ["openai"]}, "providers"),
        ({"proxies": {}}, "proxies"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    admin: AsyncTestClient, pool: asyncpg.Pool, body: dict[str, Any], field: str
) -> None:
    _assert_422(await admin.put(PROXY, json=body), field)
    assert await pool.fetchval("SELECT count(*) FROM settings WHERE key = 'proxy'") == 0
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE target_id = 'proxy'") == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3", "[::1]", "2130706433"])
async def test_a_private_proxy_host_is_refused_unless_allowed(strict_admin: AsyncTestClient, host: str) -> None:
    _assert_422(await strict_admin.put(PROXY, json={"global": _entry(host=host)}), "global.host")


async def test_the_api_needs_an_admin(control: AsyncTestClient) -> None:
    assert (await control.get(PROXY)).status_code == 401
    assert (await control.put(PROXY, json={})).status_code == 401
    assert (await control.post(TEST, json={})).status_code == 401


# --- /test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["http", "socks5", "socks5h"])
async def test_testing_a_given_proxy(admin: AsyncTestClient, kind: str) -> None:
    serve = http_proxy if kind == "http" else socks5_proxy
    with serve(USER, PASSWORD) as proxy, canned_responder(204) as target:
        body = {"proxy": _entry(kind, proxy.port, "127.0.0.1", username=USER, password=PASSWORD), "url": target.url()}
        response = await admin.post(TEST, json=body)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["ok"] is True
        assert result["status"] == 204
        assert result["proxy"] == f"{kind}://127.0.0.1:{proxy.port}"
        assert isinstance(result["latencyMs"], int)
        assert PASSWORD not in response.text
        assert proxy.log.credentials == [f"{USER}:{PASSWORD}"]
        assert target.log.connections == 1


async def test_testing_the_stored_proxy_against_a_configured_providers_base_url(admin: AsyncTestClient) -> None:
    with socks5_proxy(USER, PASSWORD) as proxy, canned_responder(404) as target:
        created = await admin.post(
            "/api/providers",
            json={"provider": "openai", "name": "main", "apiKey": "sk-x", "baseUrl": target.url() + "/v1"},
        )
        assert created.status_code == 201, created.text
        stored = {"providers": {"openai": _entry("socks5", proxy.port, "127.0.0.1", username=USER, password=PASSWORD)}}
        assert (await admin.put(PROXY, json=stored)).status_code == 200
        response = await admin.post(TEST, json={"provider": "openai"})
        result = response.json()
        assert result["ok"] is True, result
        assert result["url"] == target.url() + "/v1"
        assert result["status"] == 404  # any answer proves the path works
        assert proxy.log.credentials == [f"{USER}:{PASSWORD}"]
        assert PASSWORD not in response.text
        # Editing the entry in a form and testing it before saving: the masked password is reused.
        edited = {
            "proxy": _entry("socks5", proxy.port, "127.0.0.1", username=USER, password=MASK),
            "provider": "openai",
        }
        assert (await admin.post(TEST, json=edited)).json()["ok"] is True


@pytest.mark.parametrize("kind", ["http", "socks5"])
async def test_wrong_credentials_are_reported_without_echoing_them(admin: AsyncTestClient, kind: str) -> None:
    serve = http_proxy if kind == "http" else socks5_proxy
    with serve(USER, "the-real-one") as proxy, canned_responder(200) as target:
        body = {"proxy": _entry(kind, proxy.port, "127.0.0.1", username=USER, password=PASSWORD), "url": target.url()}
        response = await admin.post(TEST, json=body)
        assert response.status_code == 200
        result = response.json()
        assert result["ok"] is False
        assert result["code"] == "proxy_auth_failed"
        assert PASSWORD not in response.text and "the-real-one" not in response.text
        assert target.log.connections == 0


async def test_an_unreachable_proxy_is_reported(admin: AsyncTestClient) -> None:
    with socks5_proxy() as closed:
        port = closed.port
    with canned_responder(200) as target:
        response = await admin.post(TEST, json={"proxy": _entry("socks5", port, "127.0.0.1"), "url": target.url()})
    result = response.json()
    assert (result["ok"], result["code"]) == (False, "proxy_unreachable")


async def test_a_redirect_is_reported_not_followed(admin: AsyncTestClient) -> None:
    with http_proxy() as proxy, canned_responder(200) as canary:
        location = (("Location", f"{canary.url()}/latest/meta-data/"),)
        with canned_responder(302, location) as redirecting:
            body = {"proxy": _entry("http", proxy.port, "127.0.0.1"), "url": redirecting.url()}
            result = (await admin.post(TEST, json=body)).json()
        assert (result["ok"], result["status"]) == (True, 302)
        assert canary.log.connections == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://proxy-target.example.com/"}, "proxy"),  # nothing stored, nothing given
        ({"proxy": {"type": "none"}, "url": "http://x.example.com/"}, "proxy.type"),
        ({"proxy": _entry(port=0), "url": "http://x.example.com/"}, "proxy.port"),
        ({"proxy": _entry(), "url": "ftp://x.example.com/"}, "url"),
        ({"proxy": _entry()}, "url"),  # no provider configured to default to
        ({"proxy": _entry(), "url": "http://x.example.com/", "timeoutMs": 5}, "timeoutMs"),
        ({"proxy": _entry(), "provider": "no-such-provider"}, "provider"),
    ],
)
async def test_bad_test_requests_are_422(admin: AsyncTestClient, body: dict[str, Any], field: str) -> None:
    _assert_422(await admin.post(TEST, json=body), field)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0x7f000001/",
        "http://metadata.google.internal/",
        "http://10.0.0.1/",
    ],
)
async def test_private_targets_are_refused_when_not_allowed(strict_admin: AsyncTestClient, url: str) -> None:
    _assert_422(await strict_admin.post(TEST, json={"proxy": _entry(), "url": url}), "url")


async def test_a_private_proxy_is_refused_when_not_allowed(strict_admin: AsyncTestClient) -> None:
    with http_proxy() as proxy:
        body = {"proxy": _entry("http", proxy.port, "localhost"), "url": "http://example.com/"}
        _assert_422(await strict_admin.post(TEST, json=body), "proxy.host")
        assert proxy.log.connections == 0
