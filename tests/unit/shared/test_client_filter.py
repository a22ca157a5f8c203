"""CIDR matching and the client address behind trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from shared.client_filter import ClientFilter, NetworkSet, parse_address, parse_network
from shared.config.gateway_settings import IpFilterSettings


def compiled(**lists: tuple[str, ...]) -> ClientFilter:
    rules = ClientFilter.compile(IpFilterSettings(**lists))
    assert rules is not None
    return rules


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = parse_address(text)
    assert address is not None
    return address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("198.51.100.7", "198.51.100.7/32"),
        (" 2001:db8::/32 ", "2001:db8::/32"),
        ("::1", "::1/128"),
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),  # IPv4-mapped ranges are IPv4 ranges
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_networks_parse(text: str, expected: str) -> None:
    assert str(parse_network(text)) == expected


@pytest.mark.parametrize(
    "text", ["10.0.0.1/8", "300.0.0.0/8", "10.0.0.0/33", "010.0.0.0/8", "example.com", "", "1.2.3"]
)
def test_malformed_networks_raise(text: str) -> None:
    with pytest.raises(ValueError, match=r"does not appear to be|has host bits set"):
        parse_network(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:51234", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
    ],
)
def test_addresses_parse_as_peers_and_proxies_write_them(text: str, expected: str) -> None:
    assert str(parse_address(text)) == expected


@pytest.mark.parametrize("text", ["unknown", "", "[2001:db8::1", "testclient", "1.2.3.4.5", "_hidden"])
def test_what_is_not_an_address_is_none(text: str) -> None:
    assert parse_address(text) is None


def test_network_set_matches_by_prefix_for_both_families() -> None:
    networks = NetworkSet(parse_network(n) for n in ("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "::1"))
    assert ip("10.255.1.2") in networks
    assert ip("192.168.1.200") in networks
    assert ip("192.168.2.1") not in networks
    assert ip("11.0.0.1") not in networks
    assert ip("2001:db8:ffff::9") in networks
    assert ip("2001:db9::1") not in networks
    assert ip("::1") in networks
    assert ip("::2") not in networks
    assert ip("::ffff:10.1.1.1") in networks  # IPv4 seen through a dual-stack socket
    assert not NetworkSet([])
    assert NetworkSet([parse_network("0.0.0.0/0")]).__contains__(ip("8.8.8.8"))


def test_nothing_to_check_compiles_to_none() -> None:
    assert ClientFilter.compile(IpFilterSettings()) is None
    assert ClientFilter.compile(IpFilterSettings(trusted_proxies=("10.0.0.0/8",))) is None


def test_block_wins_and_allow_lists_are_exclusive() -> None:
    rules = compiled(allow=("10.0.0.0/8",), block=("10.0.0.66",))
    assert rules.permits(ip("10.1.2.3"))
    assert not rules.permits(ip("10.0.0.66"))
    assert not rules.permits(ip("192.0.2.1"))
    assert not rules.permits(None)  # an unknown client is not on an allow list
    blocking = compiled(block=("203.0.113.0/24", "2001:db8::/32"))
    assert not blocking.permits(ip("203.0.113.9"))
    assert not blocking.permits(ip("2001:db8::5"))
    assert blocking.permits(ip("198.51.100.1"))
    assert blocking.permits(None)


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    rules = compiled(block=("203.0.113.0/24",))
    # no trusted proxies: the header is the caller's word, and the peer is the client
    assert rules.client_address("198.51.100.1", ["203.0.113.5"]) == ip("198.51.100.1")
    trusting = compiled(block=("203.0.113.0/24",), trusted_proxies=("10.0.0.0/8",))
    assert trusting.client_address("198.51.100.1", ["10.0.0.9"]) == ip("198.51.100.1")  # untrusted peer
    assert trusting.client_address("10.0.0.2", ["203.0.113.5"]) == ip("203.0.113.5")
    assert trusting.client_address("10.0.0.2", []) == ip("10.0.0.2")


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    rules = compiled(block=("203.0.113.0/24",), trusted_proxies=("10.0.0.0/8", "2001:db8:1::/48"))
    # the client forged a left part; the proxies appended the real address on the right
    assert rules.client_address("10.0.0.2", ["203.0.113.5, 198.51.100.4, 10.0.0.7"]) == ip("198.51.100.4")
    # several headers read as one list, in order
    assert rules.client_address("10.0.0.2", ["198.51.100.4", "10.1.1.1"]) == ip("198.51.100.4")
    assert rules.client_address("10.0.0.2", ["[2001:db8:9::1]:5000, 2001:db8:1::3"]) == ip("2001:db8:9::1")
    # every hop trusted: the leftmost is as close to the client as we can see
    assert rules.client_address("10.0.0.2", ["10.0.0.5, 10.0.0.6"]) == ip("10.0.0.5")
    # a trusted proxy that wrote garbage leaves the client unknown
    assert rules.client_address("10.0.0.2", ["203.0.113.5, unknown"]) is None
    assert rules.client_address(None, ["198.51.100.4"]) is None


def test_spoofing_a_header_does_not_escape_a_block() -> None:
    rules = compiled(block=("203.0.113.0/24",), trusted_proxies=("10.0.0.0/8",))
    spoofed = rules.client_address("10.0.0.2", ["198.51.100.4, 203.0.113.5"])  # real client appended last
    assert not rules.permits(spoofed)
    direct = rules.client_address("203.0.113.5", ["10.0.0.1"])  # a blocked client naming a proxy
    assert not rules.permits(direct)


def test_a_hand_edited_entry_that_is_not_a_network_is_skipped() -> None:
    rules = compiled(allow=("not-a-network", "192.0.2.0/24"))
    assert rules.permits(ip("192.0.2.1"))
    assert not rules.permits(ip("198.51.100.1"))
