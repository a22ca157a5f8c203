"""POST /api/auth/login and /api/auth/logout."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody

from services.control import audit
from services.control.auth.password import check_password
from services.control.auth.session import COOKIE_NAME, issue_session
from services.control.context import actor_of, control_state
from services.control.errors import ApiError

__all__ = ["login", "logout"]


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class LoginResult(msgspec.Struct):
    ok: bool


def _is_https(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@post("/api/auth/login", status_code=200, tags=["auth"])
async def login(request: Request[Any, Any, Any], data: JSONBody[LoginBody]) -> Response[LoginResult]:
    """Check the admin password and set the `auth_token` session cookie."""
    state = control_state(request)
    ok = await check_password(state.pool, data.password)
    actor = actor_of(request)
    async with state.pool.acquire() as conn:
        await audit.record(conn, actor, "auth.login.success" if ok else "auth.login.failed", "session", None)
    if not ok:
        raise ApiError(401, "wrong password", "invalid_credentials")
    ttl = state.settings.session_ttl_seconds
    cookie = Cookie(
        key=COOKIE_NAME,
        value=issue_session(state.session_secret, ttl),
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
        max_age=ttl,
        path="/",
    )
    return Response(LoginResult(ok=True), cookies=[cookie])


@post("/api/auth/logout", status_code=200, tags=["auth"])
async def logout() -> Response[LoginResult]:
    """Clear the session cookie."""
    expired = Cookie(key=COOKIE_NAME, value="", httponly=True, samesite="lax", max_age=0, path="/")
    return Response(LoginResult(ok=True), cookies=[expired])
