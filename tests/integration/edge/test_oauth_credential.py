"""The edge calls upstream with an OAuth connection's current access token, and follows a refresh.

Control plane (OAuth flow against the fake provider) -> snapshot in Redis -> edge -> fake upstream,
whose ledger records a fingerprint of the credential each request carried.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx
from litestar.testing import AsyncTestClient

from services.edge.app import create_app as create_edge_app
from shared.settings import Settings
from tests.integration.control.oauth_support import connect_claude, fake_oauth, fake_oauth_server
from tests.support.fake_oauth import FakeOAuth

__all__ = ["fake_oauth", "fake_oauth_server"]


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


async def last_key(upstream: str) -> str | None:
    async with httpx.AsyncClient() as client:
        ledger = (await client.get(f"{upstream}/_fake/ledger")).json()
    return ledger[-1]["key"] if ledger else None


async def chat(edge: AsyncTestClient, key: str) -> httpx.Response:
    return await edge.post(
        "/v1/chat/completions",
        json={"model": "anthropic/claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {key}"},
    )


async def test_the_edge_sends_the_oauth_access_token_and_follows_a_refresh(
    admin: AsyncTestClient, settings: Settings, fake_upstream: str, fake_oauth: FakeOAuth
) -> None:
    view = await connect_claude(admin, baseUrl=fake_upstream)
    first_token = fake_oauth.issued_access_tokens[-1]
    created = await admin.post("/api/keys", json={"name": "client"})
    assert created.status_code == 201
    key = created.json()["key"]
    async with AsyncTestClient(app=create_edge_app(settings)) as edge:
        answer = await chat(edge, key)
        assert answer.status_code == 200, answer.text
        assert await last_key(fake_upstream) == fingerprint(first_token)

        refreshed = await admin.post("/api/oauth/claude/refresh", json={"connectionId": view["id"]})
        assert refreshed.status_code == 200 and refreshed.json()["refreshed"]
        second_token = fake_oauth.issued_access_tokens[-1]
        assert second_token != first_token
        deadline = time.monotonic() + 5
        while True:  # the edge swaps in the republished snapshot within moments
            answer = await chat(edge, key)
            assert answer.status_code == 200, answer.text
            if await last_key(fake_upstream) == fingerprint(second_token):
                break
            assert time.monotonic() < deadline, "the edge never used the refreshed token"
            await asyncio.sleep(0.05)
