"""The connect-time half of the SSRF guard: refuse blocked addresses when the socket is opened.

`shared.netguard.check_url` vets a URL when it is configured, but a DNS name can resolve to
another address later (DNS rebinding, a short TTL, a poisoned cache). These helpers look at the
address actually being connected to, whatever name or spelling led there, so such a name is
refused at connection time. `OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS=true` lifts the guard, as it
lifts `check_url`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

from shared.netguard import is_blocked_address

__all__ = ["BlockedAddress", "guarded_socket", "vetted_address"]

AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


class BlockedAddress(OSError):
    """A connection was about to be made to a loopback, private, link-local or metadata address."""

    def __init__(self) -> None:
        super().__init__("refused to connect to a loopback, private, link-local or metadata address")


def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.split("%")[0])
    except ValueError:
        return None


def _blocked(raw: str) -> bool:
    address = _address(raw)
    return address is None or is_blocked_address(address)  # an unparseable address is refused too


def guarded_socket(addr_info: Sequence[Any]) -> socket.socket:
    """A socket factory (aiohttp `TCPConnector(socket_factory=...)`) that refuses blocked addresses.

    It runs for every address a connection attempt tries, after DNS, so it covers literal IPs,
    resolved names and names that changed their answer since they were validated.
    """
    family, kind, proto, _, sockaddr = addr_info
    if _blocked(str(sockaddr[0])):
        raise BlockedAddress()
    return socket.socket(family=family, type=kind, proto=proto)


async def vetted_address(host: str, port: int, *, family: int = socket.AF_UNSPEC) -> tuple[int, str]:
    """Resolve `host` and return one (family, address) to connect to, pinned: the caller connects to
    this address, not to the name, so a second lookup cannot answer differently.

    Raises BlockedAddress when any address the name resolves to is blocked (a name that resolves
    to a public and a private address is as suspicious as one that resolves to a private one).
    """
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"could not resolve {host[:255]}")
    if any(_blocked(str(info[4][0])) for info in infos):
        raise BlockedAddress()
    ordered = sorted(infos, key=lambda info: info[0])  # IPv4 first, as most proxies expect
    return int(ordered[0][0]), str(ordered[0][4][0])
