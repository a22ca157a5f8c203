"""Outbound calls of the control plane and the workers (provider tests, health probes, OAuth token
posts) refuse internal addresses at check time and at connect time."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from aiohttp.resolver import ThreadedResolver

from services.outbound import fetch
from shared.canonical.errors import GatewayError
from shared.oauth.client import OAuthEndpointError


def _answer(address: str) -> list[dict[str, Any]]:
    return [{"hostname": "h", "host": address, "port": 80, "family": socket.AF_INET, "proto": 0, "flags": 0}]


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name whose check-time answer was harmless and whose connect-time answer is loopback."""

    async def rebound(self: ThreadedResolver, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
        return _answer("127.0.0.1")

    monkeypatch.setattr("shared.netguard._resolve", lambda host: [])
    monkeypatch.setattr(ThreadedResolver, "resolve", rebound)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v1", "http://0177.0.0.1/", "http://[::1]/", "file:///etc/passwd"])
async def test_literal_internal_urls_never_leave(url: str) -> None:
    with pytest.raises(GatewayError) as caught:
        await fetch.fetch("GET", url, (), None, connect_timeout=1, total_timeout=1, allow_private=False)
    assert caught.value.code == "unsafe_url"


@pytest.mark.usefixtures("rebinding")
async def test_a_rebound_name_surfaces_as_unsafe_url() -> None:
    with pytest.raises(GatewayError) as caught:
        await fetch.fetch(
            "GET", "http://api.example.com/v1/models", (), None, connect_timeout=1, total_timeout=2, allow_private=False
        )
    assert caught.value.code == "unsafe_url"


@pytest.mark.usefixtures("rebinding")
async def test_an_oauth_post_to_a_rebound_name_never_connects() -> None:
    with pytest.raises(OAuthEndpointError):
        await fetch.post_form("http://auth.example.com/token", {"grant_type": "x"}, allow_private=False)
