"""Concurrent refreshes of one OAuth connection from two control-plane instances.

The provider rotates refresh tokens and refuses a spent one, as real providers do; a refresh that
posted the same token twice, or stored a rotated token and then lost it, would show here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from services.control.app import create_app
from services.control.publish import oauth_token_aad
from services.control.state import ControlState
from shared.crypto import FieldCipher
from shared.settings import Settings
from tests.integration.control.oauth_support import connect_claude, fake_oauth, fake_oauth_server
from tests.support.auth import login
from tests.support.env import STORAGE_KEY
from tests.support.fake_oauth import FakeOAuth

__all__ = ["fake_oauth", "fake_oauth_server"]

CIPHER = FieldCipher(STORAGE_KEY, "provider-credentials")
CALLERS = 12


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A control-plane replica served on this event loop, so requests to it really run concurrently
    (Litestar's test clients block the loop for the length of each request)."""
    app = create_app(settings)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://control") as c,
    ):
        await login(c)
        yield c


async def test_concurrent_refreshes_on_two_replicas_make_one_provider_call(
    admin: AsyncTestClient, settings: Settings, fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    # Entered and left in the test's own task (anyio cancel scopes must not cross tasks).
    async with replica(settings) as first, replica(settings) as second:
        await _race(admin, (first, second), fake_oauth, pool)


async def _race(
    admin: AsyncTestClient, replicas: tuple[httpx.AsyncClient, ...], fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    view = await connect_claude(admin)
    ident = str(view["id"])
    fake_oauth.refresh_delay = 0.4  # every caller arrives while the first refresh is in flight

    async def refresh(client: httpx.AsyncClient) -> dict[str, object]:
        answer = await client.post("/api/oauth/claude/refresh", json={"connectionId": ident})
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    answers = await asyncio.gather(*(refresh(replicas[n % 2]) for n in range(CALLERS)))

    assert fake_oauth.calls("refresh_token") == 1
    assert sum(1 for a in answers if a["refreshed"]) == 1
    connections = [a["connection"] for a in answers]
    assert {c["tokenVersion"] for c in connections} == {2}  # type: ignore[index]
    assert len({c["accessToken"] for c in connections}) == 1  # type: ignore[index]
    row = await pool.fetchrow("SELECT * FROM provider_connections WHERE id = $1", ident)
    assert row is not None and row["oauth_token_version"] == 2
    access = CIPHER.decrypt_text(row["oauth_access_token_enc"], oauth_token_aad(ident, "access"))
    refresh_token = CIPHER.decrypt_text(row["oauth_refresh_token_enc"], oauth_token_aad(ident, "refresh"))
    assert access == fake_oauth.issued_access_tokens[-1]
    assert fake_oauth.live_refresh_tokens == {refresh_token}  # the rotated token, stored once, still valid
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'oauth.refreshed'") == 1

    # A later refresh uses the stored rotated token and succeeds: nothing was lost.
    fake_oauth.refresh_delay = 0
    later = await refresh(replicas[1])
    assert later["refreshed"] is True and fake_oauth.calls("refresh_token") == 2


@pytest.mark.parametrize("rotate", [True, False])
async def test_a_straggler_that_lost_the_swap_keeps_the_winners_tokens(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, pool: asyncpg.Pool, settings: Settings, rotate: bool
) -> None:
    """A refresher whose lease lapsed (paused past it) must not overwrite the winner's rotation:
    with rotation its spent token is refused (invalid_grant after a newer version = a race); without,
    the provider answers but the compare-and-swap on the token version refuses the write."""
    fake_oauth.rotate = rotate

    view = await connect_claude(admin)
    ident = str(view["id"])
    app = create_app(settings)
    async with app.lifespan():
        await _straggle(admin, app.state.control, ident, fake_oauth, pool)


async def _straggle(
    admin: AsyncTestClient, state: ControlState, ident: str, fake_oauth: FakeOAuth, pool: asyncpg.Pool
) -> None:
    from services.control.audit import Actor
    from services.control.oauth import store
    from services.control.oauth.refresh import refresh_deps
    from shared.oauth.refresh import rotate

    stale = await store.fetch(state.pool, ident)
    assert stale is not None
    winner = await admin.post("/api/oauth/claude/refresh", json={"connectionId": ident})
    assert winner.status_code == 200
    winner_access = fake_oauth.issued_access_tokens[-1]
    # The straggler read version 1 and now, without the lease, calls the provider.
    outcome = await rotate(refresh_deps(state), Actor("test", "req", None), stale)
    assert outcome.refreshed is False and outcome.row["oauth_token_version"] == 2
    row = await pool.fetchrow("SELECT * FROM provider_connections WHERE id = $1", ident)
    assert row is not None
    assert CIPHER.decrypt_text(row["oauth_access_token_enc"], oauth_token_aad(ident, "access")) == winner_access
    assert fake_oauth.calls("refresh_token") == 2  # the straggler did ask; its answer was dropped


async def test_tokens_are_refreshed_ahead_of_expiry_once_across_replicas(
    admin: AsyncTestClient, fake_oauth: FakeOAuth, pool: asyncpg.Pool, settings: Settings
) -> None:
    """The shared refresh-ahead pass (the worker's cron job runs it; tests/integration/workers has the
    arq test) run by two callers at once, each with its own Redis client and pool."""
    from services.control.oauth.refresh import refresh_deps
    from shared.oauth.refresh import refresh_due

    fake_oauth.expires_in = 120  # inside the 5-minute lead
    soon = await connect_claude(admin, name="soon")
    fake_oauth.expires_in = 3600
    later = await connect_claude(admin, name="later")
    first, second = create_app(settings), create_app(settings)
    async with first.lifespan(), second.lifespan():
        counts = await asyncio.gather(
            refresh_due(refresh_deps(first.state.control)), refresh_due(refresh_deps(second.state.control))
        )
    assert sorted(counts) == [0, 1]
    assert fake_oauth.calls("refresh_token") == 1
    versions = {str(r["id"]): r["oauth_token_version"] for r in await pool.fetch("SELECT * FROM provider_connections")}
    assert versions == {soon["id"]: 2, later["id"]: 1}
    actor = await pool.fetchval("SELECT actor FROM audit_log WHERE action = 'oauth.refreshed'")
    assert actor == "system:oauth-refresh"
