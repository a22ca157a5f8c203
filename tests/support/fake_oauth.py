"""A local OAuth 2.0 provider for tests, on a real socket in a background thread.

- `GET /authorize`: auto-approves (302 to redirect_uri with code and state), or answers
  `error=access_denied` when `deny` is set; remembers the PKCE challenge per code.
- `POST /token`: `authorization_code` (single-use code, redirect_uri and PKCE S256 verified),
  `refresh_token` (rotation: the old refresh token dies on use, so reusing it is invalid_grant, as
  at real providers; `refresh_delay` slows it to widen race windows), and the device grant
  (answers `device_script` in order, then tokens).
- `POST /device/code`: a device code, user code and verification URI with `device_interval`.
- `POST /revoke`: records the token (RFC 7009).
Counters let tests assert how often each grant was called.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.support.env import free_port

__all__ = ["FakeOAuth", "running_fake_oauth"]

CLIENT_ID = "omniroute-test-client"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class FakeOAuth:
    url: str = ""
    client_id: str = CLIENT_ID
    deny: bool = False
    refresh_delay: float = 0.0
    rotate: bool = True  # False: refresh tokens stay valid and the answer carries none (Google-style)
    expires_in: int = 3600
    device_interval: int = 0
    device_script: list[str] = field(default_factory=list)  # OAuth error codes to answer before success
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    live_refresh_tokens: set[str] = field(default_factory=set)
    issued_access_tokens: list[str] = field(default_factory=list)
    device_codes: dict[str, list[str]] = field(default_factory=dict)
    token_calls: dict[str, int] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    def reset(self) -> None:
        fresh = FakeOAuth(url=self.url)
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def calls(self, grant: str) -> int:
        return self.token_calls.get(grant, 0)

    def _tokens(self) -> dict[str, Any]:
        access, refresh = "at-" + secrets.token_urlsafe(24), "rt-" + secrets.token_urlsafe(24)
        self.issued_access_tokens.append(access)
        self.live_refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": "user:inference",
        }


def _error(code: str, status: int = 400) -> web.Response:
    return web.json_response({"error": code, "error_description": code.replace("_", " ")}, status=status)


def create_app(fake: FakeOAuth) -> web.Application:
    async def authorize(request: web.Request) -> web.Response:
        query = request.query
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != fake.client_id or query.get("code_challenge_method") != "S256":
            return _error("invalid_request")
        if fake.deny:
            raise web.HTTPFound(f"{redirect}?{urlencode({'error': 'access_denied', 'state': query.get('state', '')})}")
        code = "code-" + secrets.token_urlsafe(16)
        fake.codes[code] = {"challenge": query.get("code_challenge", ""), "redirect_uri": redirect}
        raise web.HTTPFound(f"{redirect}?{urlencode({'code': code, 'state': query.get('state', '')})}")

    async def token(request: web.Request) -> web.Response:
        form = dict(await request.post())
        values = {k: str(v) for k, v in form.items()}
        grant = values.get("grant_type", "")
        fake.token_calls[grant] = fake.token_calls.get(grant, 0) + 1
        fake.token_requests.append(values)
        if values.get("client_id") != fake.client_id:
            return _error("invalid_client", 401)
        if grant == "authorization_code":
            issued = fake.codes.pop(values.get("code", ""), None)  # single use
            if issued is None or issued["redirect_uri"] != values.get("redirect_uri"):
                return _error("invalid_grant")
            if s256(values.get("code_verifier", "")) != issued["challenge"]:
                return _error("invalid_grant")
            return web.json_response(fake._tokens())
        if grant == "refresh_token":
            presented = values.get("refresh_token", "")
            if presented not in fake.live_refresh_tokens:
                return _error("invalid_grant")
            if fake.refresh_delay:
                await asyncio.sleep(fake.refresh_delay)
            if not fake.rotate:
                answer = fake._tokens()
                fake.live_refresh_tokens.discard(answer.pop("refresh_token"))
                return web.json_response(answer)
            fake.live_refresh_tokens.discard(presented)  # rotation: spent on first use
            return web.json_response(fake._tokens())
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            script = fake.device_codes.get(values.get("device_code", ""))
            if script is None:
                return _error("invalid_grant")
            if script:
                return _error(script.pop(0))
            del fake.device_codes[values["device_code"]]
            return web.json_response(fake._tokens())
        return _error("unsupported_grant_type")

    async def device_code(request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_id") != fake.client_id:
            return _error("invalid_client", 401)
        code = "dc-" + secrets.token_urlsafe(16)
        fake.device_codes[code] = list(fake.device_script)
        return web.json_response(
            {
                "device_code": code,
                "user_code": "WDJB-MJHT",
                "verification_uri": f"{fake.url}/device",
                "verification_uri_complete": f"{fake.url}/device?user_code=WDJB-MJHT",
                "expires_in": 900,
                "interval": fake.device_interval,
            }
        )

    async def revoke(request: web.Request) -> web.Response:
        form = await request.post()
        token = str(form.get("token", ""))
        fake.revoked.append(token)
        fake.live_refresh_tokens.discard(token)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/authorize", authorize)
    app.router.add_post("/token", token)
    app.router.add_post("/device/code", device_code)
    app.router.add_post("/revoke", revoke)
    return app


@contextmanager
def running_fake_oauth() -> Iterator[FakeOAuth]:
    port = free_port()
    fake = FakeOAuth(url=f"http://127.0.0.1:{port}")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(create_app(fake), access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="fake-oauth", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
