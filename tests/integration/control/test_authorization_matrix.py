"""Every route of the control app × {no credentials, inference key, admin key, cookie session}.

The route list comes from the Litestar app itself, so routes added later are covered without
touching this file. Public routes answer everyone; every other /api route answers 401 without
credentials, 403 to an inference key, and neither 401 nor 403 to an admin key or a cookie session
(with its CSRF token). Nothing answers 5xx. Path parameters get a random UUID (404 is fine);
writes send `{}` (400/422 is fine).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from tests.support.auth import CSRF_HEADER_NAME

# /api/init answers callers without credentials only what a login screen needs (test_local_access.py).
PUBLIC = {
    "/api/auth/login",
    "/api/auth/logout",
    "/api/init",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/openapi.json",
}
PUBLIC_PREFIXES = ("/openapi",)
# The receiving side of cloud sync answers only this install's sync token (test_sync_api.py): every
# caller here, admin key and cookie session included, gets 401.
SYNC_TOKEN_PREFIXES = ("/api/cloud/",)  # Litestar's own schema router (the contract path is /api/openapi.json)
# Never called with working credentials: they would stop the process under test.
DESTRUCTIVE = {"/api/shutdown", "/api/restart"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_PARAM = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


@dataclass(frozen=True)
class Cell:
    method: str
    template: str
    url: str

    @property
    def public(self) -> bool:
        return self.template in PUBLIC or self.template.startswith(PUBLIC_PREFIXES)


def _fill(template: str) -> str:
    def value(match: re.Match[str]) -> str:
        kind = match.group(2) or "str"
        return "1" if kind in ("int", "float", "decimal") else str(uuid.uuid4())

    return _PARAM.sub(value, template)


def every_cell(app: Litestar) -> list[Cell]:
    cells = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method in sorted(route.methods):
            cells.append(Cell(method, route.path, _fill(route.path)))
    return cells


async def _status(client: AsyncTestClient, cell: Cell, headers: dict[str, str]) -> int:
    client.cookies.clear()
    body = {"json": {}} if cell.method in WRITES else {}
    response = await client.request(cell.method, cell.url, headers=headers, **body)  # type: ignore[arg-type]
    return response.status_code


async def _credentials(admin: AsyncTestClient) -> dict[str, dict[str, str]]:
    session = {
        "cookie": f"auth_token={admin.cookies['auth_token']}",
        CSRF_HEADER_NAME: admin.headers[CSRF_HEADER_NAME],
    }
    keys = {}
    for scope in ("inference", "admin"):
        created = await admin.post("/api/keys", json={"name": f"matrix-{scope}", "scopes": [scope]})
        assert created.status_code == 201, created.text
        keys[scope] = {"authorization": f"Bearer {created.json()['key']}"}
    del admin.headers[CSRF_HEADER_NAME]
    return {"none": {}, "inference": keys["inference"], "admin": keys["admin"], "cookie": session}


def _verdict(cell: Cell, who: str, status: int) -> str | None:
    if status >= 500:
        return "server error"
    if cell.public or not cell.template.startswith("/api"):
        return "public route refused" if status in (401, 403) else None
    if cell.template.startswith(SYNC_TOKEN_PREFIXES):
        return None if status == 401 else "expected [401] without the sync token"
    expected = {"none": {401}, "inference": {403}}.get(who)
    if expected is not None:
        return None if status in expected else f"expected {sorted(expected)}"
    return "authorized caller refused" if status in (401, 403) else None


async def test_every_route_answers_each_kind_of_caller_as_expected(admin: AsyncTestClient) -> None:
    cells = every_cell(admin.app)
    assert len(cells) > 40 and any(c.template == "/api/keys/{key_id:str}" for c in cells)
    credentials = await _credentials(admin)
    failures = []
    for who, headers in credentials.items():
        for cell in cells:
            if who in ("admin", "cookie") and cell.template in DESTRUCTIVE:
                continue
            status = await _status(admin, cell, headers)
            problem = _verdict(cell, who, status)
            if problem:
                failures.append(f"{who:9} {cell.method:7} {cell.url} -> {status} ({problem})")
    assert not failures, "\n".join(failures)


async def test_every_protected_api_route_is_behind_the_guard(admin: AsyncTestClient) -> None:
    """Structural check: each non-public /api handler resolves the admin guard."""
    unguarded = []
    for route in admin.app.routes:
        if not isinstance(route, HTTPRoute) or route.path in PUBLIC or not route.path.startswith("/api"):
            continue
        guard = "cloud_guard" if route.path.startswith(SYNC_TOKEN_PREFIXES) else "admin_guard"
        for handler in route.route_handlers:
            if not any(getattr(g, "__name__", "") == guard for g in handler.resolve_guards()):
                unguarded.append(f"{sorted(handler.http_methods)} {route.path}")
    assert not unguarded, unguarded
