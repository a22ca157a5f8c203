"""/api/oauth flows against a local fake OAuth provider over loopback, real Postgres and Redis."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.publish import oauth_token_aad
from shared.crypto import FieldCipher
from shared.kv import keys
from shared.oauth.pkce import challenge_of
from tests.integration.control.oauth_support import approve, connect_claude, fake_oauth, fake_oauth_server
from tests.support.env import STORAGE_KEY
from tests.support.fake_oauth import FakeOAuth, s256

__all__ = ["fake_oauth", "fake_oauth_server"]  # fixtures used by the tests below

CIPHER = FieldCipher(STORAGE_KEY, "provider-credentials")


async def stored_tokens(pool: asyncpg.Pool, ident: str) -> tuple[str, str | None, int]:
    row = await pool.fetchrow("SELECT * FROM provider_connections WHERE id = $1", ident)
    assert row is not None
    access = CIPHER.decrypt_text(row["oauth_access_token_enc"], oauth_token_aad(ident, "access"))
    refresh_enc = row["oauth_refresh_token_enc"]
    refresh = CIPHER.decrypt_text(refresh_enc, oauth_token_aad(ident, "refresh")) if refresh_enc else None
    return access, refresh, int(row["oauth_token_version"])


async def test_authorization_code_with_pkce_creates_an_oauth_connection(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    started = await admin.post("/api/oauth/claude/authorize", json={"name": "work"})
    assert started.status_code == 200
    auth_url = started.json()["authUrl"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == started.json()["state"]
    assert query["client_id"] == fake_oauth.client_id
    assert "code_verifier" not in auth_url
    redirected = await approve(auth_url)
    finished = await admin.post("/api/oauth/claude/callback", json=redirected)
    assert finished.status_code == 200, finished.text
    view = finished.json()
    assert view["provider"] == "anthropic" and view["oauthProvider"] == "claude" and view["authType"] == "oauth"
    assert view["name"] == "work" and view["hasRefreshToken"] and view["tokenVersion"] == 1
    # The verifier the gateway sent matches the challenge it put in the URL.
    exchange = fake_oauth.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code"
    assert s256(exchange["code_verifier"]) == query["code_challenge"] == challenge_of(exchange["code_verifier"])
    # Tokens: encrypted at rest, never in the answer, masked, never in the audit row.
    access, refresh, _ = await stored_tokens(pool, view["id"])
    assert access == fake_oauth.issued_access_tokens[-1] and refresh in fake_oauth.live_refresh_tokens
    assert access not in finished.text and refresh not in finished.text
    assert view["accessToken"] != access and view["accessToken"].endswith(access[-4:])
    raw = await pool.fetchrow("SELECT * FROM provider_connections WHERE id = $1", view["id"])
    assert access.encode() not in bytes(raw["oauth_access_token_enc"])
    audit = await pool.fetch("SELECT before::text, after::text FROM audit_log WHERE action = 'oauth.connected'")
    assert len(audit) == 1 and access not in str(audit[0]) and refresh not in str(audit[0])
    listing = await admin.get("/api/providers")
    assert access not in listing.text and listing.json()["providers"][0]["authType"] == "oauth"


async def test_the_snapshot_carries_the_access_token_for_the_edge(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, redis: Redis
) -> None:
    from shared.config.snapshot import SnapshotCodec
    from shared.kv.config_channel import ConfigChannel

    view = await connect_claude(admin)
    current = await ConfigChannel(redis).load()
    assert current is not None
    snapshot = SnapshotCodec(STORAGE_KEY).decode(current.blob, current.version)
    (connection,) = [c for c in snapshot.connections if c.id == view["id"]]
    assert connection.auth_type == "oauth" and connection.api_key == fake_oauth.issued_access_tokens[-1]


async def test_a_wrong_verifier_is_refused_by_the_provider(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, redis: Redis, pool: asyncpg.Pool
) -> None:
    from services.control.oauth.flows import AuthorizeFlow, FlowStore

    started = await admin.post("/api/oauth/claude/authorize", json={})
    flow_state = started.json()["state"]
    redirected = await approve(started.json()["authUrl"])
    store = FlowStore(redis, CIPHER)
    flow = await store.take_authorize(flow_state)
    assert isinstance(flow, AuthorizeFlow)
    flow.verifier = "a-verifier-that-does-not-match-the-challenge-0123456789abcdefghij"
    await store.put_authorize(flow_state, flow)
    finished = await admin.post("/api/oauth/claude/callback", json=redirected)
    assert finished.status_code == 400 and finished.json()["error"]["code"] == "invalid_grant"
    assert await pool.fetchval("SELECT count(*) FROM provider_connections") == 0


async def test_a_wrong_or_replayed_state_is_refused(admin: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    started = await admin.post("/api/oauth/claude/authorize", json={})
    redirected = await approve(started.json()["authUrl"])
    wrong = await admin.post("/api/oauth/claude/callback", json={"code": redirected["code"], "state": "forged"})
    assert wrong.status_code == 400 and wrong.json()["error"]["details"][0]["field"] == "state"
    assert fake_oauth.calls("authorization_code") == 0  # refused before the provider is asked
    assert (await admin.post("/api/oauth/claude/callback", json=redirected)).status_code == 200
    replay = await admin.post("/api/oauth/claude/callback", json=redirected)
    assert replay.status_code == 400 and "state" in replay.text


async def test_an_expired_flow_is_refused(admin: AsyncTestClient, fake_oauth: FakeOAuth, redis: Redis) -> None:
    started = await admin.post("/api/oauth/claude/authorize", json={})
    flow_state = started.json()["state"]
    ttl = await redis.ttl(keys.oauth_flow(flow_state))
    assert 0 < ttl <= 600
    redirected = await approve(started.json()["authUrl"])
    await redis.pexpire(keys.oauth_flow(flow_state), 1)
    await asyncio.sleep(0.05)
    finished = await admin.post("/api/oauth/claude/callback", json=redirected)
    assert finished.status_code == 400 and "expired" in finished.json()["error"]["message"]
    assert fake_oauth.calls("authorization_code") == 0


async def test_the_browser_redirect_callback_and_a_denied_authorization(
    admin: AsyncTestClient, fake_oauth: FakeOAuth
) -> None:
    started = await admin.get("/api/oauth/claude/authorize", params={"name": "via-get"})
    redirected = await approve(started.json()["authUrl"])
    finished = await admin.get("/api/oauth/claude/callback", params=redirected)
    assert finished.status_code == 200 and finished.json()["name"] == "via-get"
    fake_oauth.deny = True
    started = await admin.get("/api/oauth/claude/authorize")
    denied = await approve(started.json()["authUrl"])
    answer = await admin.get("/api/oauth/claude/callback", params=denied)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "access_denied"


async def test_reauthorising_by_name_updates_the_same_connection(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    first = await connect_claude(admin, name="acct")
    second = await connect_claude(admin, name="acct")
    assert first["id"] == second["id"] and second["tokenVersion"] == 2
    third = await connect_claude(admin, connectionId=first["id"])
    assert third["id"] == first["id"] and third["tokenVersion"] == 3
    access, _, _ = await stored_tokens(pool, str(first["id"]))
    assert access == fake_oauth.issued_access_tokens[-1]
    assert await pool.fetchval("SELECT count(*) FROM provider_connections") == 1


async def test_device_code_flow_polls_through_pending_to_a_connection(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    fake_oauth.device_script = ["authorization_pending", "authorization_pending"]
    started = await admin.post("/api/oauth/github/device-code", json={"name": "gh"})
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["userCode"] == "WDJB-MJHT" and body["verificationUri"].endswith("/device")
    assert "deviceCode" not in body and body["interval"] == 0
    statuses = []
    for _ in range(3):
        answer = await admin.post("/api/oauth/github/poll", json={"flowId": body["flowId"]})
        statuses.append((answer.status_code, answer.json()["status"]))
    assert statuses == [(202, "pending"), (202, "pending"), (200, "complete")]
    connection = answer.json()["connection"]
    assert connection["provider"] == "github" and connection["oauthProvider"] == "github"
    access, _, _ = await stored_tokens(pool, connection["id"])
    assert access == fake_oauth.issued_access_tokens[-1] and access not in answer.text
    gone = await admin.post("/api/oauth/github/poll", json={"flowId": body["flowId"]})
    assert gone.status_code == 404


async def test_device_polling_honours_slow_down(admin: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    fake_oauth.device_script = ["slow_down"]
    body = (await admin.post("/api/oauth/github/device-code", json={})).json()
    slowed = await admin.post("/api/oauth/github/poll", json={"flowId": body["flowId"]})
    assert slowed.status_code == 202
    assert slowed.json()["status"] == "slow_down" and slowed.json()["interval"] == 5
    assert slowed.headers["retry-after"] == "5"
    calls = fake_oauth.calls("urn:ietf:params:oauth:grant-type:device_code")
    early = await admin.post("/api/oauth/github/poll", json={"flowId": body["flowId"]})
    assert early.status_code == 202 and early.json()["status"] == "pending" and early.json()["retryAfter"] >= 4
    assert fake_oauth.calls("urn:ietf:params:oauth:grant-type:device_code") == calls  # not asked too early


@pytest.mark.parametrize(("code", "status"), [("expired_token", 410), ("access_denied", 400)])
async def test_device_polling_stops_on_expired_or_denied(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, code: str, status: int
) -> None:
    fake_oauth.device_script = [code]
    body = (await admin.post("/api/oauth/github/device-code", json={})).json()
    answer = await admin.post("/api/oauth/github/poll", json={"flowId": body["flowId"]})
    assert answer.status_code == status and answer.json()["error"]["code"] == code
    again = await admin.post("/api/oauth/github/poll", json={"flowId": body["flowId"]})
    assert again.status_code == 404


async def test_device_flow_with_pkce_sends_the_verifier(admin: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    body = (await admin.post("/api/oauth/qwen/device-code", json={})).json()
    answer = await admin.post("/api/oauth/qwen/poll", json={"flowId": body["flowId"]})
    assert answer.status_code == 200
    assert answer.json()["connection"]["baseUrl"] == "https://portal.qwen.ai/v1"
    assert fake_oauth.token_requests[-1]["code_verifier"]


async def test_refresh_rotates_and_a_spent_refresh_token_is_not_reused(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    view = await connect_claude(admin)
    _, first_refresh, _ = await stored_tokens(pool, str(view["id"]))
    answer = await admin.post("/api/oauth/claude/refresh", json={"connectionId": view["id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["refreshed"] is True and answer.json()["connection"]["tokenVersion"] == 2
    access, refresh, version = await stored_tokens(pool, str(view["id"]))
    assert refresh != first_refresh and fake_oauth.live_refresh_tokens == {refresh}
    assert access == fake_oauth.issued_access_tokens[-1] and access not in answer.text
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-1] == "oauth.refreshed"
    # The provider considers the connection's refresh token dead (revoked elsewhere): a clear 409.
    fake_oauth.live_refresh_tokens.clear()
    dead = await admin.post("/api/oauth/claude/refresh", json={"connectionId": view["id"]})
    assert dead.status_code == 409 and dead.json()["error"]["code"] == "invalid_grant"
    assert (await stored_tokens(pool, str(view["id"])))[2] == version


async def test_revoke_calls_the_provider_and_forgets_the_tokens(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    view = await connect_claude(admin)
    _, refresh, _ = await stored_tokens(pool, str(view["id"]))
    answer = await admin.post("/api/oauth/claude/revoke", json={"connectionId": view["id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["revokedUpstream"] is True and fake_oauth.revoked == [refresh]
    connection = answer.json()["connection"]
    assert connection["accessToken"] is None and not connection["hasRefreshToken"] and not connection["isActive"]
    refused = await admin.post("/api/oauth/claude/refresh", json={"connectionId": view["id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_refresh_token"


async def test_editing_an_oauth_connection_keeps_it_oauth(admin: AsyncTestClient, fake_oauth: FakeOAuth) -> None:
    view = await connect_claude(admin)
    edited = await admin.put(f"/api/providers/{view['id']}", json={"priority": 3})
    assert edited.status_code == 200, edited.text
    assert edited.json()["authType"] == "oauth"
    again = await admin.post("/api/oauth/claude/refresh", json={"connectionId": view["id"]})
    assert again.status_code == 200
