"""Brute-force lockout of POST /api/auth/login: 5 failures per address per 15 min, in Redis."""

from __future__ import annotations

import dataclasses

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared import jsonx
from shared.kv import keys
from shared.kv.batch import RedisBatch
from shared.kv.login_guard import LoginGuard, LoginPolicy
from shared.settings import Settings
from tests.support.env import ADMIN_PASSWORD, free_port
from tests.support.raw_asgi import raw_request

TEST_CLIENT = "testclient"  # the client address Litestar's test client reports
WINDOW_S = 15 * 60


async def _fail(client: AsyncTestClient) -> int:
    return (await client.post("/api/auth/login", json={"password": "wrong-guess"})).status_code


async def test_the_sixth_failure_is_refused_with_retry_after_even_with_the_right_password(
    control: AsyncTestClient,
) -> None:
    assert [await _fail(control) for _ in range(5)] == [401] * 5
    locked = await control.post("/api/auth/login", json={"password": ADMIN_PASSWORD})
    assert locked.status_code == 429
    retry_after = int(locked.headers["retry-after"])
    assert WINDOW_S - 5 <= retry_after <= WINDOW_S
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert "set-cookie" not in locked.headers


async def test_the_lockout_ends_when_the_window_frees(control: AsyncTestClient, redis: Redis) -> None:
    for _ in range(5):
        await _fail(control)
    assert await _fail(control) == 429
    # Age the oldest failure past the window, as 15 minutes would.
    key = keys.login_attempts(TEST_CLIENT)
    oldest = await redis.zrange(key, 0, 0, withscores=True)
    (member, score) = oldest[0]
    await redis.zadd(key, {member: score - WINDOW_S * 1000 - 1})
    assert (await control.post("/api/auth/login", json={"password": ADMIN_PASSWORD})).status_code == 200
    assert await _fail(control) == 401  # the success took its own place back, so one more guess fits
    assert await _fail(control) == 429


async def test_a_success_keeps_earlier_failures_and_other_addresses_counted(
    control: AsyncTestClient, redis: Redis
) -> None:
    other = "198.51.100.23"
    guard, policy = LoginGuard(redis), LoginPolicy()
    batch = RedisBatch(redis)
    for n in range(3):
        guard.attempt(batch, other, f"other-{n}", policy)
    await batch.run()
    for _ in range(3):
        await _fail(control)
    assert (await control.post("/api/auth/login", json={"password": ADMIN_PASSWORD})).status_code == 200
    assert await redis.zcard(keys.login_attempts(other)) == 3
    assert await redis.zcard(keys.login_attempts(TEST_CLIENT)) == 3
    assert [await _fail(control) for _ in range(3)] == [401, 401, 429]


async def test_two_control_plane_instances_count_together(settings: Settings, redis: Redis, clean_db: None) -> None:
    async with AsyncTestClient(app=create_app(settings)) as first, AsyncTestClient(app=create_app(settings)) as second:
        statuses = [await _fail(first if n % 2 else second) for n in range(5)]
        assert statuses == [401] * 5
        assert await _fail(first) == 429
        assert await _fail(second) == 429


async def test_without_redis_login_fails_closed_with_503(settings: Settings, redis: Redis, clean_db: None) -> None:
    unreachable = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with AsyncTestClient(app=create_app(unreachable)) as client:
        for password in (ADMIN_PASSWORD, "wrong"):
            response = await client.post("/api/auth/login", json={"password": password})
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "state_unavailable"
            assert "set-cookie" not in response.headers


async def _raw_login(control: AsyncTestClient, address: str, password: str) -> int:
    body = jsonx.dumps({"password": password})
    return (await raw_request(control, "POST", "/api/auth/login", chunks=[body], client_address=address)).status


async def test_each_address_has_its_own_count_and_ipv6_counts_per_64(control: AsyncTestClient) -> None:
    for _ in range(5):
        assert await _raw_login(control, "203.0.113.10", "wrong") == 401
    assert await _raw_login(control, "203.0.113.10", ADMIN_PASSWORD) == 429
    assert await _raw_login(control, "203.0.113.11", ADMIN_PASSWORD) == 200  # another address is not locked
    assert await _raw_login(control, "::ffff:203.0.113.10", "wrong") == 429  # the same IPv4, mapped
    for n in range(5):  # rotating through one /64 does not buy more guesses
        assert await _raw_login(control, f"2001:db8:1:2::{n + 1:x}", "wrong") == 401
    assert await _raw_login(control, "2001:db8:1:2:ffff::9", "wrong") == 429
    assert await _raw_login(control, "2001:db8:1:3::1", ADMIN_PASSWORD) == 200
