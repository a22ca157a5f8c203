"""Login, the session cookie, and the same-site defence for cookie-authenticated writes."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.support.auth import CSRF_HEADER_NAME, login
from tests.support.env import ADMIN_PASSWORD


async def test_login_sets_an_http_only_lax_cookie(control: AsyncTestClient, pool: asyncpg.Pool) -> None:
    assert (await control.get("/api/providers")).status_code == 401
    wrong = await control.post("/api/auth/login", json={"password": "not-it"})
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers
    right = await control.post("/api/auth/login", json={"password": ADMIN_PASSWORD})
    assert right.status_code == 200
    cookie = right.headers["set-cookie"].lower()
    assert cookie.startswith("auth_token=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert (await control.get("/api/providers")).status_code == 200
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["auth.login.failed", "auth.login.success"]


async def test_logout_and_tampered_cookies(control: AsyncTestClient) -> None:
    await control.post("/api/auth/login", json={"password": ADMIN_PASSWORD})
    token = control.cookies["auth_token"]
    control.cookies.set("auth_token", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert (await control.get("/api/providers")).status_code == 401
    control.cookies.set("auth_token", token)
    assert (await control.get("/api/providers")).status_code == 200
    logout = await control.post("/api/auth/logout")
    assert logout.status_code == 200
    assert "max-age=0" in logout.headers["set-cookie"].lower()


async def test_login_payload_is_validated(control: AsyncTestClient) -> None:
    assert (await control.post("/api/auth/login", json={})).status_code == 400
    assert (await control.post("/api/auth/login", json={"password": 5})).status_code == 400
    malformed = await control.post("/api/auth/login", content=b"{", headers={"content-type": "application/json"})
    assert malformed.status_code == 400
    assert "error" in malformed.json()


async def test_cross_site_writes_with_the_cookie_are_refused(admin: AsyncTestClient) -> None:
    body = {"name": "csrf"}
    cross_site = await admin.post("/api/keys", json=body, headers={"sec-fetch-site": "cross-site"})
    assert cross_site.status_code == 403
    other_origin = await admin.post("/api/keys", json=body, headers={"origin": "https://evil.example"})
    assert other_origin.status_code == 403
    null_origin = await admin.post("/api/keys", json=body, headers={"origin": "null"})
    assert null_origin.status_code == 403
    # Reads stay allowed; same-origin writes work.
    assert (await admin.get("/api/keys", headers={"sec-fetch-site": "cross-site"})).status_code == 200
    same = await admin.post(
        "/api/keys", json=body, headers={"sec-fetch-site": "same-origin", "origin": "http://testserver.local"}
    )
    assert same.status_code == 201


async def test_login_hands_out_a_csrf_token_in_a_script_readable_cookie_and_the_body(control: AsyncTestClient) -> None:
    response = await control.post("/api/auth/login", json={"password": ADMIN_PASSWORD})
    token = response.json()["csrfToken"]
    cookies = response.headers.get_list("set-cookie")
    csrf_cookie = next(c for c in cookies if c.startswith("csrf_token="))
    assert csrf_cookie.startswith(f"csrf_token={token};")
    assert "httponly" not in csrf_cookie.lower()
    assert "samesite=strict" in csrf_cookie.lower()
    session_cookie = next(c for c in cookies if c.startswith("auth_token="))
    assert token not in session_cookie  # the session carries it signed (base64 JSON), not in the clear


async def test_cookie_writes_need_the_sessions_csrf_token(control: AsyncTestClient) -> None:
    first = await login(control)
    control.headers.pop(CSRF_HEADER_NAME)
    body = {"name": "csrf"}
    missing = await control.post("/api/keys", json=body)
    assert missing.status_code == 403
    assert "X-CSRF-Token" in missing.json()["error"]["message"]
    assert (await control.post("/api/keys", json=body, headers={CSRF_HEADER_NAME: "forged"})).status_code == 403
    assert (await control.post("/api/keys", json=body, headers={CSRF_HEADER_NAME: ""})).status_code == 403
    # A token planted in the csrf_token cookie does not help: the header is checked against the session.
    control.cookies.set("csrf_token", "planted")
    assert (await control.post("/api/keys", json=body, headers={CSRF_HEADER_NAME: "planted"})).status_code == 403
    # Reads need no token; the session's own token works for writes.
    assert (await control.get("/api/keys")).status_code == 200
    assert (await control.post("/api/keys", json=body, headers={CSRF_HEADER_NAME: first})).status_code == 201
    # A new login issues a new token; the old one no longer matches the new session.
    second = await login(control)
    assert second != first
    stale = await control.delete("/api/keys/00000000-0000-0000-0000-000000000000", headers={CSRF_HEADER_NAME: first})
    assert stale.status_code == 403


async def test_bearer_admin_keys_write_without_a_csrf_token(admin: AsyncTestClient) -> None:
    created = await admin.post("/api/keys", json={"name": "automation", "scopes": ["admin"]})
    assert created.status_code == 201
    raw_key = created.json()["key"]
    admin.cookies.clear()
    admin.headers.pop(CSRF_HEADER_NAME)
    answer = await admin.post("/api/keys", json={"name": "by-bot"}, headers={"authorization": f"Bearer {raw_key}"})
    assert answer.status_code == 201
