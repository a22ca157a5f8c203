"""`requireLogin: false` and GET /api/init: what a caller without credentials gets, by where it calls from.

The app runs under real Postgres and Redis; an httpx ASGI transport sets the socket peer, so the
same app is called from loopback and from another address.
"""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from litestar import Litestar

from services.control.app import create_app
from shared.crypto import hash_password
from shared.settings import Settings
from tests.support.auth import login as login_as_admin


@pytest.fixture
async def app(settings: Settings, clean_db: None) -> Litestar:
    return create_app(settings)


def caller(app: Litestar, peer: str, host: str = "127.0.0.1:20129") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 50_000))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{host}")


async def login(client: httpx.AsyncClient) -> None:
    await login_as_admin(client)


async def set_require_login(app: Litestar, value: bool) -> None:
    async with caller(app, "192.0.2.10") as remote:
        await login(remote)
        response = await remote.put("/api/settings/require-login", json={"requireLogin": value})
        assert response.status_code == 200, response.text


async def test_require_login_on_by_default_even_for_loopback(app: Litestar) -> None:
    async with app.lifespan(), caller(app, "127.0.0.1") as local:
        assert (await local.get("/api/settings")).status_code == 401
        assert (await local.get("/api/providers")).status_code == 401


async def test_without_require_login_only_strictly_local_callers_skip_credentials(
    app: Litestar, pool: asyncpg.Pool
) -> None:
    async with app.lifespan():  # pool, Redis, publisher, in this test's event loop
        await set_require_login(app, False)
        async with caller(app, "127.0.0.1") as local, caller(app, "::1", "[::1]:20129") as local6:
            assert (await local.get("/api/providers")).status_code == 200
            assert (await local6.get("/api/keys")).status_code == 200
            created = await local.post("/api/keys", json={"name": "from-the-dashboard"})
            assert created.status_code == 201, created.text
            # the actor of a credential-less local write is recorded as such
            actor = await pool.fetchval("SELECT actor FROM audit_log WHERE action = 'key.created'")
            assert actor == "local"
            # a page in the local browser cannot write cross-site
            cross = await local.post("/api/keys", json={"name": "csrf"}, headers={"sec-fetch-site": "cross-site"})
            assert cross.status_code == 403
            evil_origin = await local.post(
                "/api/keys", json={"name": "csrf"}, headers={"origin": "https://evil.example"}
            )
            assert evil_origin.status_code == 403
            # a request that came through a proxy on this host is not local
            proxied = await local.get("/api/providers", headers={"x-forwarded-for": "198.51.100.4"})
            assert proxied.status_code == 401
            assert (await local.get("/api/providers", headers={"forwarded": "for=198.51.100.4"})).status_code == 401
        # DNS rebinding: loopback peer, but the browser names another host
        async with caller(app, "127.0.0.1", "evil.example:20129") as rebound:
            assert (await rebound.get("/api/providers")).status_code == 401
        for peer in ("192.0.2.10", "10.0.0.5", "::ffff:192.0.2.10", "testclient"):
            async with caller(app, peer) as remote:
                assert (await remote.get("/api/providers")).status_code == 401, peer


async def test_bearer_keys_are_still_checked_from_loopback(app: Litestar) -> None:
    async with app.lifespan():  # pool, Redis, publisher, in this test's event loop
        async with caller(app, "192.0.2.10") as remote:
            await login(remote)
            inference = (await remote.post("/api/keys", json={"name": "app"})).json()["key"]
        await set_require_login(app, False)
        async with caller(app, "127.0.0.1") as local:
            as_inference = {"authorization": f"Bearer {inference}"}
            assert (await local.get("/api/providers", headers=as_inference)).status_code == 403
            unknown = {"authorization": "Bearer sk-not-a-key-0123456789"}
            assert (await local.get("/api/providers", headers=unknown)).status_code == 401


async def test_turning_require_login_back_on_locks_local_callers_out(app: Litestar) -> None:
    async with app.lifespan():  # pool, Redis, publisher, in this test's event loop
        await set_require_login(app, False)
        async with caller(app, "127.0.0.1") as local:
            assert (await local.put("/api/settings/require-login", json={"requireLogin": True})).status_code == 200
            assert (await local.get("/api/providers")).status_code == 401


async def test_init_without_credentials_says_only_what_the_login_screen_needs(app: Litestar) -> None:
    async with app.lifespan():  # pool, Redis, publisher, in this test's event loop
        async with caller(app, "192.0.2.10") as remote:
            anonymous = await remote.get("/api/init")
            assert anonymous.status_code == 200
            assert anonymous.json() == {"requireLogin": True, "authenticated": False}
            bad_key = await remote.get("/api/init", headers={"authorization": "Bearer sk-wrong-0123456789"})
            assert bad_key.json() == {"requireLogin": True, "authenticated": False}
            await login(remote)
            state = (await remote.get("/api/init")).json()
            assert state == {
                "requireLogin": True,
                "authenticated": True,
                "version": state["version"],
                "initialPasswordInUse": True,
                "hasProviderConnections": False,
                "hasApiKeys": False,
                "setupComplete": False,
            }
            assert state["version"]
            await remote.post("/api/keys", json={"name": "app"})
            assert (await remote.get("/api/init")).json()["hasApiKeys"] is True
        await set_require_login(app, False)
        async with caller(app, "127.0.0.1") as local:
            assert (await local.get("/api/init")).json()["authenticated"] is True
        async with caller(app, "192.0.2.10") as remote:
            assert (await remote.get("/api/init")).json() == {"requireLogin": False, "authenticated": False}


async def test_init_reports_a_changed_password(app: Litestar, pool: asyncpg.Pool) -> None:
    stored = await pool.fetchval("SELECT password_hash FROM admin_auth WHERE id = 1")
    await pool.execute("UPDATE admin_auth SET password_hash = $1 WHERE id = 1", hash_password("another-password"))
    try:
        async with app.lifespan(), caller(app, "192.0.2.10") as remote:
            await login_as_admin(remote, "another-password")
            assert (await remote.get("/api/init")).json()["initialPasswordInUse"] is False
    finally:  # the other tests of the session log in with the initial password
        await pool.execute("UPDATE admin_auth SET password_hash = $1 WHERE id = 1", stored)
