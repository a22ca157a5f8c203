"""PublicOnlyResolver drops private answers at connect time (DNS rebinding)."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from services.edge.resolver_guard import PublicOnlyResolver


class _Answers(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0) for a in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


async def test_private_answers_are_dropped_and_public_ones_kept() -> None:
    inner = _Answers("169.254.169.254", "93.184.216.34", "::ffff:127.0.0.1", "fe80::1%eth0", "2606:4700::1")
    answers = await PublicOnlyResolver(inner).resolve("rebind.example", 443)
    assert [a["host"] for a in answers] == ["93.184.216.34", "2606:4700::1"]


@pytest.mark.parametrize(
    "addresses", [("127.0.0.1",), ("10.0.0.5", "192.168.1.1"), ("::1",), ("fd00:ec2::254",), ("not-an-ip",), ()]
)
async def test_a_name_with_only_private_answers_fails_like_an_unreachable_host(addresses: tuple[str, ...]) -> None:
    with pytest.raises(OSError, match="resolves only to"):
        await PublicOnlyResolver(_Answers(*addresses)).resolve("internal.example", 80)


async def test_close_is_passed_on() -> None:
    inner = _Answers()
    await PublicOnlyResolver(inner).close()
    assert inner.closed
