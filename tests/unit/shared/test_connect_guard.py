"""The connect-time SSRF guard: the socket factory and the vetted (pinned) lookup.

Names that resolve to loopback stand in for DNS rebinding: the guard looks at the address being
connected to, not at the name that was validated.
"""

from __future__ import annotations

import socket

import pytest

from shared.connect_guard import BlockedAddress, guarded_socket, vetted_address

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.100.100.200",
    "0.0.0.0",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "fe80::1%lo",
    "not-an-address",
]
ALLOWED = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


def _info(address: str) -> tuple[int, int, int, str, tuple[str, int]]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 443))


@pytest.mark.parametrize("address", BLOCKED)
def test_the_socket_factory_refuses_blocked_addresses(address: str) -> None:
    with pytest.raises(BlockedAddress):
        guarded_socket(_info(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_the_socket_factory_opens_public_addresses(address: str) -> None:
    sock = guarded_socket(_info(address))
    try:
        assert sock.type == socket.SOCK_STREAM
    finally:
        sock.close()


def test_a_blocked_address_is_an_os_error_without_the_address() -> None:
    error = BlockedAddress()
    assert isinstance(error, OSError)
    assert "127" not in str(error)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "2130706433", "127.1"])
async def test_vetted_address_refuses_names_and_spellings_of_loopback(host: str) -> None:
    with pytest.raises(BlockedAddress):
        await vetted_address(host, 80)


async def test_vetted_address_pins_a_public_literal() -> None:
    family, address = await vetted_address("8.8.8.8", 53)
    assert (family, address) == (socket.AF_INET, "8.8.8.8")


async def test_vetted_address_reports_an_unresolvable_name() -> None:
    with pytest.raises(OSError, match=r"(?i)resolve|name|known") as caught:
        await vetted_address("no-such-host.invalid", 80)
    assert not isinstance(caught.value, BlockedAddress)
