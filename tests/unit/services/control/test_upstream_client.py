"""The control plane's upstream calls refuse internal addresses at check time and at connect time."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from aiohttp.resolver import ThreadedResolver

from services.control import upstream_client
from shared.canonical.errors import GatewayError


def _answer(address: str) -> list[dict[str, Any]]:
    return [{"hostname": "h", "host": address, "port": 80, "family": socket.AF_INET, "proto": 0, "flags": 0}]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v1", "http://0177.0.0.1/", "http://[::1]/", "file:///etc/passwd"])
async def test_literal_internal_urls_never_leave(url: str) -> None:
    with pytest.raises(GatewayError) as caught:
        await upstream_client.fetch("GET", url, (), None, connect_timeout=1, total_timeout=1, allow_private=False)
    assert caught.value.code == "unsafe_url"


async def test_a_rebound_name_surfaces_as_unsafe_url(monkeypatch: pytest.MonkeyPatch) -> None:
    async def rebound(self: ThreadedResolver, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
        return _answer("127.0.0.1")

    monkeypatch.setattr("shared.netguard._resolve", lambda host: [])  # the check saw a harmless answer
    monkeypatch.setattr(ThreadedResolver, "resolve", rebound)
    with pytest.raises(GatewayError) as caught:
        await upstream_client.fetch(
            "GET", "http://api.example.com/v1/models", (), None, connect_timeout=1, total_timeout=2, allow_private=False
        )
    assert caught.value.code == "unsafe_url"
