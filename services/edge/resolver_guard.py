"""The SSRF guard at connect time: a resolver that never hands the edge a private address.

The control plane checks every upstream URL when it is saved (shared/netguard.py), but a DNS name
can resolve elsewhere later (DNS rebinding, a changed record). Unless private upstreams are
allowed (OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS), this resolver drops loopback, private, link-local,
CGNAT and metadata answers at the moment of connecting; a name with nothing else left fails like
an unreachable host. IP literals never reach a resolver and were checked when saved.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from shared.netguard import is_blocked_address

__all__ = ["PublicOnlyResolver"]


class PublicOnlyResolver(AbstractResolver):
    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        public = [answer for answer in answers if not _blocked(answer["host"])]
        if not public:
            raise OSError(f"{host[:253]} resolves only to loopback, private or metadata addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


def _blocked(address: str) -> bool:
    try:
        return is_blocked_address(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return True  # not an address at all: never connect to it
