"""/api/oauth refuses bad input by name, unknown things with 404, and never points a flow at a
private address unless private upstreams are allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared.settings import Settings
from tests.integration.control.oauth_support import approve, connect_claude, fake_oauth, fake_oauth_server
from tests.support.auth import login
from tests.support.env import settings_for
from tests.support.fake_oauth import FakeOAuth

__all__ = ["fake_oauth", "fake_oauth_server"]

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/oauth/nosuch/authorize"),
        ("get", "/api/oauth/nosuch/authorize"),
        ("post", "/api/oauth/claude/nosuch"),
        ("get", "/api/oauth/claude/nosuch"),
        ("post", "/api/oauth/github/authorize"),  # github offers only the device flow
        ("post", "/api/oauth/claude/device-code"),  # claude offers only the authorization-code flow
    ],
)
async def test_unknown_provider_action_or_flow_is_404(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, method: str, path: str
) -> None:
    answer = await getattr(admin, method)(path, **({"json": {}} if method == "post" else {}))
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/oauth/claude/callback", {"state": "s"}, "code"),
        ("/api/oauth/claude/callback", {"code": "c"}, "state"),
        ("/api/oauth/claude/callback", {"code": "", "state": "s"}, "code"),
        ("/api/oauth/claude/callback", {"code": "c", "state": "s", "extra": 1}, "extra"),
        ("/api/oauth/github/poll", {}, "flowId"),
        ("/api/oauth/claude/refresh", {}, "connectionId"),
        ("/api/oauth/claude/revoke", {"connectionId": 7}, "connectionId"),
        ("/api/oauth/claude/authorize", {"name": ""}, "name"),
        ("/api/oauth/claude/authorize", {"name": "   "}, "name"),
        ("/api/oauth/github/device-code", {"name": "a\nb"}, "name"),
        ("/api/oauth/claude/authorize", {"baseUrl": "ftp://example.com"}, "baseUrl"),
    ],
)
async def test_missing_or_bad_fields_are_422_naming_the_field(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, path: str, body: dict[str, object], field: str
) -> None:
    answer = await admin.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in {d["field"] for d in answer.json()["error"]["details"]}


async def test_get_callback_without_code_or_state_is_422(admin: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    answer = await admin.get("/api/oauth/claude/callback", params={"state": "s"})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "code"
    answer = await admin.get("/api/oauth/claude/callback", params={"code": "c"})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "state"


async def test_unknown_connections_and_flows_are_404(admin: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    for action in ("refresh", "revoke"):
        for ident in (UNKNOWN_ID, "not-a-uuid"):
            answer = await admin.post(f"/api/oauth/claude/{action}", json={"connectionId": ident})
            assert answer.status_code == 404, answer.text
    assert (await admin.post("/api/oauth/github/poll", json={"flowId": "nope"})).status_code == 404
    answer = await admin.post("/api/oauth/claude/authorize", json={"connectionId": UNKNOWN_ID})
    assert answer.status_code == 404


async def test_refresh_of_an_api_key_connection_or_through_another_provider_is_refused(
    admin: AsyncTestClient, fake_oauth: FakeOAuth
) -> None:
    keyed = await admin.post(
        "/api/providers", json={"provider": "anthropic", "name": "keyed", "apiKey": "sk-ant-test-0123456789abcdef"}
    )
    assert keyed.status_code == 201
    answer = await admin.post("/api/oauth/claude/refresh", json={"connectionId": keyed.json()["id"]})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_oauth"
    view = await connect_claude(admin)
    answer = await admin.post("/api/oauth/github/refresh", json={"connectionId": view["id"]})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "connectionId"
    # Authorising under the name of a connection that uses an API key would silently replace its key.
    started = await admin.post("/api/oauth/claude/authorize", json={"name": "keyed"})
    finished = await admin.post("/api/oauth/claude/callback", json=await approve(started.json()["authUrl"]))
    assert finished.status_code == 409 and finished.json()["error"]["details"][0]["field"] == "name"
    openai = await admin.post("/api/providers", json={"provider": "openai", "name": "o", "apiKey": "sk-x-0123456789"})
    wrong = await admin.post("/api/oauth/claude/authorize", json={"connectionId": openai.json()["id"]})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "connectionId"


async def test_oauth_routes_need_an_admin(control: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    assert (await control.post("/api/oauth/claude/authorize", json={})).status_code == 401
    assert (await control.get("/api/oauth/claude/callback", params={"code": "c", "state": "s"})).status_code == 401
    assert (await control.post("/api/oauth/github/device-code", json={})).status_code == 401


async def test_an_inference_key_gets_403(admin: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    key = (await admin.post("/api/keys", json={"name": "inference-only"})).json()["key"]
    bearer = {"authorization": f"Bearer {key}"}
    assert (await admin.post("/api/oauth/claude/authorize", json={}, headers=bearer)).status_code == 403
    assert (await admin.post("/api/oauth/github/poll", json={"flowId": "x"}, headers=bearer)).status_code == 403


@pytest.fixture
async def strict_admin(
    pg_url: str, redis: Redis, clean_db: None, fake_oauth: FakeOAuth
) -> AsyncIterator[AsyncTestClient]:
    """A control plane that refuses private upstreams (the production default)."""
    from tests.integration.conftest import DATABASE, REDIS_DB

    strict: Settings = settings_for(DATABASE, REDIS_DB, OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS="false")
    async with AsyncTestClient(app=create_app(strict)) as client:
        await login(client)
        yield client


async def test_overridden_endpoints_pass_the_ssrf_guard(
    strict_admin: AsyncTestClient, fake_oauth: FakeOAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = await strict_admin.post("/api/oauth/claude/authorize", json={})
    assert answer.status_code == 502 and "authorize_url refused" in answer.json()["error"]["message"]
    answer = await strict_admin.post("/api/oauth/github/device-code", json={})
    assert answer.status_code == 502 and "device_code_url refused" in answer.json()["error"]["message"]
    monkeypatch.setenv("OMNIROUTE_OAUTH_CLAUDE_AUTHORIZE_URL", "https://claude.example/oauth/authorize")
    monkeypatch.setenv("OMNIROUTE_OAUTH_CLAUDE_TOKEN_URL", "http://0x7f.1/token")
    started = await strict_admin.post("/api/oauth/claude/authorize", json={"baseUrl": "http://169.254.169.254/"})
    assert started.status_code == 422 and started.json()["error"]["details"][0]["field"] == "baseUrl"
    started = await strict_admin.post("/api/oauth/claude/authorize", json={})
    assert started.status_code == 200
    finished = await strict_admin.post(
        "/api/oauth/claude/callback", json={"code": "c", "state": started.json()["state"]}
    )
    assert finished.status_code == 502 and "token_url refused" in finished.json()["error"]["message"]
    assert fake_oauth.calls("authorization_code") == 0


async def test_the_oauth_routes_are_in_the_openapi_document(control: AsyncTestClient) -> None:
    paths = (await control.get("/api/openapi.json")).json()["paths"]
    for action in ("authorize", "callback", "device-code", "poll", "refresh", "revoke"):
        assert f"/api/oauth/{{provider}}/{action}" in paths
    assert {"200", "202"} <= set(paths["/api/oauth/{provider}/poll"]["post"]["responses"])
