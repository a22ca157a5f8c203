"""Shared pieces of the OAuth tests: the fake provider, env overrides pointing flows at it, flow helpers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.support.fake_oauth import FakeOAuth, running_fake_oauth

REDIRECT_URI = "http://127.0.0.1:1/oauth/callback"


@pytest.fixture(scope="session")
def fake_oauth_server() -> Iterator[FakeOAuth]:
    with running_fake_oauth() as fake:
        yield fake


@pytest.fixture
def fake_oauth(fake_oauth_server: FakeOAuth, monkeypatch: pytest.MonkeyPatch) -> FakeOAuth:
    """The fake provider, reset, with claude, github, qwen and gemini-cli pointed at it."""
    fake_oauth_server.reset()
    url = fake_oauth_server.url
    for provider in ("CLAUDE", "GITHUB", "QWEN", "GEMINI_CLI"):
        monkeypatch.setenv(f"OMNIROUTE_OAUTH_{provider}_CLIENT_ID", fake_oauth_server.client_id)
        monkeypatch.setenv(f"OMNIROUTE_OAUTH_{provider}_AUTHORIZE_URL", f"{url}/authorize")
        monkeypatch.setenv(f"OMNIROUTE_OAUTH_{provider}_TOKEN_URL", f"{url}/token")
        monkeypatch.setenv(f"OMNIROUTE_OAUTH_{provider}_DEVICE_CODE_URL", f"{url}/device/code")
        monkeypatch.setenv(f"OMNIROUTE_OAUTH_{provider}_REVOKE_URL", f"{url}/revoke")
        monkeypatch.setenv(f"OMNIROUTE_OAUTH_{provider}_REDIRECT_URI", REDIRECT_URI)
    return fake_oauth_server


async def approve(auth_url: str) -> dict[str, str]:
    """Play the user's browser: open the authorization URL, read where the provider redirects."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(auth_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {k: v[0] for k, v in parse_qs(location.query).items()}


async def connect_claude(admin: AsyncTestClient, **body: object) -> dict[str, object]:
    """A whole authorization-code flow; returns the connection view."""
    started = await admin.post("/api/oauth/claude/authorize", json=body)
    assert started.status_code == 200, started.text
    redirected = await approve(started.json()["authUrl"])
    finished = await admin.post(
        "/api/oauth/claude/callback", json={"code": redirected["code"], "state": redirected["state"]}
    )
    assert finished.status_code == 200, finished.text
    connection: dict[str, object] = finished.json()
    return connection
