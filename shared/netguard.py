"""SSRF guard for every user-settable URL (provider base URLs, proxies, sync targets).

Refuses loopback, private, link-local, CGNAT, multicast, unspecified and cloud-metadata targets,
whatever the spelling of the address (dotted, decimal, octal, hex, short forms, IPv4-mapped IPv6),
and DNS names that resolve to them. `allow_private=True` (OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS)
lifts the address checks for development and self-hosted upstreams.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from urllib.parse import urlsplit

__all__ = ["UnsafeURL", "check_url", "is_blocked_address"]

_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
_METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IETF_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")


class UnsafeURL(ValueError):
    """The URL may not be used as an upstream; the message says why without echoing secrets."""


def is_blocked_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_blocked_address(mapped)
    return (
        address in _METADATA_ADDRESSES
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv4Address) and (address in _CGNAT or address in _IETF_ASSIGNMENTS))
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton accepts the legacy spellings browsers and libc still honour: 2130706433, 0x7f.1, 0177.0.0.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    found = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        except ValueError:
            continue
    return found


def _canonical_host(hostname: str) -> str:
    """The host as HTTP clients will see it: IDNA folds fullwidth digits, "。" dots, soft hyphens."""
    try:
        hostname = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        hostname = unicodedata.normalize("NFKC", hostname)
    return hostname.rstrip(".").lower()


def check_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """Return the URL (trailing slash trimmed) or raise UnsafeURL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. "http://[::1" or a bracketed non-address
        raise UnsafeURL("the URL is malformed") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("credentials in the URL are not allowed; use the apiKey field")
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise UnsafeURL("the URL contains whitespace or control characters")
    normalised = url.strip().rstrip("/")
    if allow_private:
        return normalised
    host = _canonical_host(parts.hostname)
    if host == "localhost" or host.endswith(".localhost") or host in _METADATA_HOSTS:
        raise UnsafeURL("the URL points at a local or metadata host")
    literal = _literal_address(host)
    addresses = [literal] if literal is not None else (_resolve(host) if resolve else [])
    if any(is_blocked_address(address) for address in addresses):
        raise UnsafeURL("the URL points at a loopback, private, link-local or metadata address")
    return normalised
