"""Request bodies over OMNIROUTE max body size are 413 with the JSON error shape, before auth too."""

from __future__ import annotations

import dataclasses

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services.control.app import create_app
from shared import jsonx
from shared.settings import Settings
from tests.support.auth import CSRF_HEADER_NAME, login
from tests.support.raw_asgi import raw_request

LIMIT = 4096


def _too_big() -> bytes:
    return b'{"name":"' + b"x" * (LIMIT * 2) + b'"}'


async def test_oversized_bodies_are_413_with_a_clean_json_error(
    settings: Settings, redis: Redis, clean_db: None
) -> None:
    small = dataclasses.replace(settings, max_body_bytes=LIMIT)
    async with AsyncTestClient(app=create_app(small)) as client:
        json_type = {"content-type": "application/json"}
        anonymous = await client.post("/api/auth/login", content=_too_big(), headers=json_type)
        assert anonymous.status_code == 413
        csrf = await login(client)
        for path in ("/api/keys", "/api/providers", "/api/auth/login"):
            response = await client.post(path, content=_too_big(), headers=json_type)
            assert response.status_code == 413, (path, response.text)
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["error"]["code"] == "too_large"
            # streamed, without Content-Length: the limit holds as the chunks arrive
            cookie = {"cookie": f"auth_token={client.cookies['auth_token']}", CSRF_HEADER_NAME: csrf}
            streamed = await raw_request(client, "POST", path, cookie, [b"x" * (LIMIT // 2)] * 4)
            assert streamed.status == 413, (path, streamed.body)
            assert jsonx.loads(streamed.body)["error"]["code"] == "too_large"
        fits = await client.post("/api/keys", json={"name": "fits"})
        assert fits.status_code == 201
