"""Log a test client in as the admin the way the dashboard does: session cookie plus CSRF header.

After `login`/`login_sync` the client sends `X-CSRF-Token` on every request, so tests can write
with the cookie session exactly as the browser dashboard would.
"""

from __future__ import annotations

import httpx

from services.control.auth.session import CSRF_HEADER_NAME
from tests.support.env import ADMIN_PASSWORD

__all__ = ["CSRF_HEADER_NAME", "login", "login_sync"]


def _remember(client: httpx.AsyncClient | httpx.Client, response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    token = response.json()["csrfToken"]
    assert isinstance(token, str) and token
    client.headers[CSRF_HEADER_NAME] = token
    return token


async def login(client: httpx.AsyncClient, password: str = ADMIN_PASSWORD) -> str:
    """Log in; returns the CSRF token, which the client now sends on every request."""
    return _remember(client, await client.post("/api/auth/login", json={"password": password}))


def login_sync(client: httpx.Client, password: str = ADMIN_PASSWORD) -> str:
    return _remember(client, client.post("/api/auth/login", json={"password": password}))
