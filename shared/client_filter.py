"""Which client addresses may use the edge: CIDR allow and block lists, compiled once per snapshot.

The client is the socket peer. X-Forwarded-For is believed only when the peer is a trusted proxy,
and then only as far as the chain stays inside trusted proxies: walking the header from the right
(the entry the nearest proxy appended), the first address that is not a trusted proxy is the
client. Entries further left were written by whoever sent the request and could be forged.

Matching costs one dict probe per prefix length present in a list, whatever the list's size.
IPv4 clients seen as IPv4-mapped IPv6 (`::ffff:a.b.c.d`, dual-stack sockets) match IPv4 ranges.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.config.gateway_settings import IpFilterSettings

__all__ = ["Address", "ClientFilter", "NetworkSet", "parse_address", "parse_network"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address; host bits must be zero. Raises ValueError."""
    network = ipaddress.ip_network(text.strip(), strict=True)
    mapped = network.network_address.ipv4_mapped if isinstance(network, ipaddress.IPv6Network) else None
    if mapped is not None and network.prefixlen >= 96:  # ::ffff:10.0.0.0/104 is 10.0.0.0/8
        return ipaddress.IPv4Network((int(mapped), network.prefixlen - 96))
    return network


def parse_address(text: str) -> Address | None:
    """A client address as a peer or a proxy writes it: bare, `[v6]:port`, `v4:port`, with a zone; None if not one."""
    value = text.strip()
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.partition(":")[0]
    value = value.partition("%")[0]  # fe80::1%eth0: the zone is not part of the address
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class NetworkSet:
    """A set of networks answering membership by prefix: {version: {prefix length: {network bits}}}."""

    __slots__ = ("_by_version",)

    def __init__(self, networks: Iterable[Network]) -> None:
        by_version: dict[int, dict[int, set[int]]] = {4: {}, 6: {}}
        for network in networks:
            bits = network.max_prefixlen
            by_length = by_version[network.version]
            by_length.setdefault(network.prefixlen, set()).add(
                int(network.network_address) >> (bits - network.prefixlen)
            )
        self._by_version = {
            version: tuple((length, frozenset(values)) for length, values in sorted(by_length.items()))
            for version, by_length in by_version.items()
        }

    def __bool__(self) -> bool:
        return any(self._by_version.values())

    def __contains__(self, address: Address) -> bool:
        value, bits = int(address), address.max_prefixlen
        return any((value >> (bits - length)) in values for length, values in self._by_version[address.version])


def _networks(entries: Iterable[str]) -> NetworkSet:
    """Entries the control plane validated; one that is not a network (a hand-edited row) is skipped."""
    parsed = []
    for entry in entries:
        try:
            parsed.append(parse_network(entry))
        except ValueError:
            continue
    return NetworkSet(parsed)


@dataclass(frozen=True, slots=True)
class ClientFilter:
    allow: NetworkSet
    block: NetworkSet
    trusted_proxies: NetworkSet

    @classmethod
    def compile(cls, settings: IpFilterSettings) -> ClientFilter | None:
        """The filter in force, or None when neither list holds anything (nothing to check)."""
        if not settings.allow and not settings.block:
            return None
        return cls(_networks(settings.allow), _networks(settings.block), _networks(settings.trusted_proxies))

    def client_address(self, peer: str | None, forwarded_for: Sequence[str]) -> Address | None:
        """The client's address: the socket peer, or what trusted proxies in front of it report."""
        address = parse_address(peer) if peer else None
        if address is None or not forwarded_for or address not in self.trusted_proxies:
            return address
        hops = [hop for header in forwarded_for for hop in header.split(",")]
        for hop in reversed(hops):
            reported = parse_address(hop)
            if reported is None:
                return None  # a trusted proxy wrote something that is not an address: the client is unknown
            if reported not in self.trusted_proxies:
                return reported
            address = reported
        return address  # every hop is a trusted proxy: the leftmost is the client

    def permits(self, address: Address | None) -> bool:
        """Blocked addresses never; with an allow list, only its addresses; an unknown client only without one."""
        if address is None:
            return not self.allow
        if address in self.block:
            return False
        return not self.allow or address in self.allow
