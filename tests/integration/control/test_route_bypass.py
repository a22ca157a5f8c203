"""No spelling of a protected path reaches a handler without credentials.

Requests go to the ASGI app with the raw path exactly as a server hands it over (percent-decoded
`path`, untouched `raw_path`, no dot-segment clean-up), because HTTP clients would normalise
most of these tricks away before sending them.
"""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.support.raw_asgi import raw_request

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


async def raw_status(client: AsyncTestClient, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    return (await raw_request(client, method, path, headers)).status


async def test_no_spelling_reaches_a_protected_handler_without_credentials(control: AsyncTestClient) -> None:
    leaked = []
    for path in TRICKS:
        for method in METHODS:
            status = await raw_status(control, method, path)
            if status not in REFUSED:
                leaked.append((method, path, status))
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
