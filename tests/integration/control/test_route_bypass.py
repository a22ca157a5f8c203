"""No spelling of a protected path reaches a handler without credentials.

Requests go to the ASGI app with the raw path exactly as a server hands it over (percent-decoded
`path`, untouched `raw_path`, no dot-segment clean-up), because HTTP clients would normalise
most of these tricks away before sending them.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import pytest
from litestar.testing import AsyncTestClient

TRICKS = (
    "/api/keys",
    "/API/keys",
    "/api/Keys",
    "/Api/Keys",
    "/api//keys",
    "//api/keys",
    "/api/./keys",
    "/./api/keys",
    "/api/%6beys",
    "/api/k%65ys",
    "/%61pi/keys",
    "/api/%2e/keys",
    "/api/keys%2f..",
    "/api/keys%2F",
    "/api/keys/",
    "/api/keys/.",
    "/api/keys/..",
    "/api/keys/%2e%2e",
    "/api/keys/x/..",
    "/api/keys..",
    "/api/auth/login/../../keys",
    "/api/auth/login/..%2f..%2fkeys",
    "/api/auth/login%2f..%2f..%2fkeys",
    "/api/auth/../keys",
    "/api/auth/logout/../../keys",
    "/healthz/../api/keys",
    "/metrics/../api/keys",
    "/api/openapi.json/../keys",
    "/api/keys;x=1",
    "/api;/keys",
    "/api/keys/;",
    "/api/keys/..;/",
    "/api/keys%00",
    "/api/keys%20",
    "/api/keys%09",
    "/api/keys%23",
    "/api/keys%3f",
    "/api\\keys",
    "/api/compliance/audit-log/",
    "/api/providers/",
    "/api/providers/%2e%2e/validate",
)
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND", "get")
REFUSED = {401, 404, 405}


async def raw_status(client: AsyncTestClient, method: str, raw_path: str, headers: dict[str, str] | None = None) -> int:
    """Send one raw request to the client's app, on the event loop its lifespan runs on."""
    app = client.app
    return await asyncio.to_thread(client.blocking_portal.call, _asgi_status, app, method, raw_path, headers)


async def _asgi_status(app: Any, method: str, raw_path: str, headers: dict[str, str] | None) -> int:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")]
        + [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    return int(starts[0]["status"])


@pytest.mark.parametrize("path", TRICKS)
async def test_no_spelling_reaches_a_protected_handler_without_credentials(control: AsyncTestClient, path: str) -> None:
    statuses = {method: await raw_status(control, method, path) for method in METHODS}
    leaked = {method: status for method, status in statuses.items() if status not in REFUSED}
    assert not leaked, leaked


async def test_an_inference_key_gets_no_further_with_any_spelling(admin: AsyncTestClient) -> None:
    created = await admin.post("/api/keys", json={"name": "client", "scopes": ["inference"]})
    headers = {"authorization": f"Bearer {created.json()['key']}"}
    for path in TRICKS:
        for method in METHODS:
            status = await raw_status(admin, method, path, headers)
            assert status in REFUSED | {403}, (method, path, status)


async def test_a_session_without_its_csrf_token_writes_nowhere(admin: AsyncTestClient) -> None:
    cookie = "; ".join(f"{name}={value}" for name, value in admin.cookies.items())
    for path in TRICKS:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            status = await raw_status(admin, method, path, {"cookie": cookie})
            assert status in REFUSED | {403}, (method, path, status)
