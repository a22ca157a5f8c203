"""POST /api/auth/login and /api/auth/logout.

Login is guarded against brute force: each client address may try 5 times per 15 minutes
(shared/kv/login_guard.py, in Redis, so every control-plane instance counts together). Without
Redis the guard cannot count, so login fails closed with 503 rather than allowing unlimited guesses.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import secrets
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import Cookie
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.control import audit
from services.control.auth.password import check_password
from services.control.auth.session import COOKIE_NAME, CSRF_COOKIE_NAME, issue_session
from services.control.context import actor_of, control_state
from services.control.errors import ApiError
from shared.kv.batch import RedisBatch
from shared.kv.login_guard import LoginGuard, LoginPolicy

__all__ = ["LOGIN_POLICY", "login", "logout"]

log = logging.getLogger(__name__)

LOGIN_POLICY = LoginPolicy(max_attempts=5, window_ms=15 * 60 * 1000)


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class LoginResult(msgspec.Struct, rename="camel", omit_defaults=True):
    ok: bool
    csrf_token: str | None = None  # echo it in X-CSRF-Token on cookie-authenticated writes


def _is_https(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _client(request: Request[Any, Any, Any]) -> str:
    """Whom to count attempts against: the address, or for IPv6 its /64 (one host's usual share,
    which it could otherwise rotate through to dodge the limit)."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else str(address)


async def _take_attempt(redis: Redis, client: str, attempt_id: str) -> None:
    """Count this attempt or refuse it: 429 while the window is full, 503 without Redis."""
    try:
        batch = RedisBatch(redis)
        slot = LoginGuard(redis).attempt(batch, client, attempt_id, LOGIN_POLICY)
        await batch.run()
    except (RedisError, OSError) as exc:
        raise ApiError(
            503, "login is unavailable: the shared state store (Redis) is unreachable", "state_unavailable"
        ) from exc
    if slot.value > 0:
        retry_after = max(1, math.ceil(slot.value / 1000))
        log.warning("login refused: too many failed attempts", extra={"client_ip": client})
        raise ApiError(
            429,
            f"too many failed login attempts; try again in {retry_after} s",
            "too_many_attempts",
            headers={"Retry-After": str(retry_after)},
        )


async def _give_back(redis: Redis, client: str, attempt_id: str) -> None:
    """A success does not count against the address (only this attempt; earlier failures stay)."""
    with contextlib.suppress(RedisError, OSError):
        batch = RedisBatch(redis)
        LoginGuard(redis).forgive(batch, client, attempt_id)
        await batch.run()


@post(
    "/api/auth/login",
    status_code=200,
    tags=["auth"],
    responses={
        401: ResponseSpec(None, description="Wrong password"),
        429: ResponseSpec(None, description="Too many failed attempts from this address; see Retry-After"),
        503: ResponseSpec(None, description="Redis unreachable: login fails closed"),
    },
)
async def login(request: Request[Any, Any, Any], data: JSONBody[LoginBody]) -> Response[LoginResult]:
    """Check the admin password; set the `auth_token` session cookie and the `csrf_token` cookie."""
    state = control_state(request)
    client, attempt_id = _client(request), secrets.token_hex(16)
    await _take_attempt(state.redis, client, attempt_id)
    ok = await check_password(state.pool, data.password)
    actor = actor_of(request)
    async with state.pool.acquire() as conn:
        await audit.record(conn, actor, "auth.login.success" if ok else "auth.login.failed", "session", None)
    if not ok:
        log.warning("login failed: wrong password", extra={"client_ip": client, "request_id": actor.request_id})
        raise ApiError(401, "wrong password", "invalid_credentials")
    await _give_back(state.redis, client, attempt_id)
    ttl = state.settings.session_ttl_seconds
    session = issue_session(state.session_secret, ttl)
    secure = _is_https(request)
    cookies = [
        Cookie(
            key=COOKIE_NAME,
            value=session.token,
            httponly=True,
            samesite="lax",
            secure=secure,
            max_age=ttl,
            path="/",
        ),
        # Readable by the dashboard's JavaScript on purpose: it echoes it in X-CSRF-Token.
        Cookie(key=CSRF_COOKIE_NAME, value=session.csrf_token, samesite="strict", secure=secure, max_age=ttl, path="/"),
    ]
    return Response(LoginResult(ok=True, csrf_token=session.csrf_token), cookies=cookies)


@post("/api/auth/logout", status_code=200, tags=["auth"])
async def logout() -> Response[LoginResult]:
    """Clear the session cookies."""
    expired = [
        Cookie(key=COOKIE_NAME, value="", httponly=True, samesite="lax", max_age=0, path="/"),
        Cookie(key=CSRF_COOKIE_NAME, value="", samesite="strict", max_age=0, path="/"),
    ]
    return Response(LoginResult(ok=True), cookies=expired)
