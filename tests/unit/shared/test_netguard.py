"""check_url: the SSRF guard, without DNS (names are checked with resolve=False)."""

from __future__ import annotations

import ipaddress

import pytest

from shared.netguard import UnsafeURL, check_url, is_blocked_address

BLOCKED_ADDRESS_URLS = [
    # loopback, every spelling
    "http://127.0.0.1/v1",
    "http://127.0.0.1:8080/v1",
    "http://127.1/",
    "http://127.0.1/",
    "http://127.255.255.254/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0X7F000001/",
    "http://0177.0.0.1/",
    "http://0177.0.0.01/",
    "http://017700000001/",
    "http://0x7f.1/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://127.0.0.1./",
    "http://[::1]/",
    "http://[::1]:9000/v1",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[0000::0001]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::7f00:1]/",
    # unspecified
    "http://0.0.0.0/",
    "http://0/",
    "http://0x0/",
    "http://[::]/",
    "http://[::ffff:0.0.0.0]/",
    # RFC 1918 private
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://10.1/",
    "http://012.0.0.1/",
    "http://0x0a000001/",
    "http://167772161/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://192.168.0.1:11434/api",
    "http://[::ffff:192.168.1.1]/",
    "http://[::ffff:c0a8:101]/",
    # unique-local and link-local IPv6
    "http://[fd00::1]/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    # link-local IPv4 and cloud metadata
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254./",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fd00:ec2::254]/",
    "http://169.254.0.1/",
    "http://100.100.100.200/",
    # CGNAT
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    # multicast, broadcast, reserved, benchmarking, documentation
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    # IDNA folding: clients turn these into the ASCII addresses above
    "http://１２７.０.０.１/",
    "http://127。0。0。1/",
    "http://127．0．0．1/",
    "http://１６９.２５４.１６９.２５４/",
]

BLOCKED_NAME_URLS = [
    "http://localhost/",
    "http://localhost:11434/v1",
    "http://LOCALHOST./",
    "http://LocalHost/",
    "http://localhost../",
    "http://foo.localhost/",
    "http://a.b.localhost./",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./",
    "http://metadata/",
    "http://instance-data/",
    "http://instance-data.ec2.internal/",
    "http://ｌｏｃａｌｈｏｓｔ/",
    "http://local\u00adhost/",
    "http://ⓛocalhost/",
]


@pytest.mark.parametrize("url", BLOCKED_ADDRESS_URLS)
def test_blocked_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False, resolve=False)


@pytest.mark.parametrize("url", [u for u in BLOCKED_ADDRESS_URLS if u.isascii()])
def test_blocked_literal_addresses_are_refused_without_any_dns(url: str) -> None:
    # Literal addresses are never resolved, so resolve=True is safe here and must agree.
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", BLOCKED_NAME_URLS)
def test_local_and_metadata_names_are_refused_by_name(url: str) -> None:
    with pytest.raises(UnsafeURL, match="local or metadata host"):
        check_url(url, allow_private=False, resolve=False)


def test_at_least_thirty_payloads() -> None:
    assert len(BLOCKED_ADDRESS_URLS) + len(BLOCKED_NAME_URLS) >= 30


@pytest.mark.parametrize(
    "url",
    [
        "ftp://8.8.8.8/",
        "file:///etc/passwd",
        "gopher://8.8.8.8:70/",
        "javascript:alert(1)",
        "ws://8.8.8.8/",
        "data:text/plain,hi",
        "api.openai.com/v1",
        "//api.openai.com/v1",
        "",
    ],
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False, resolve=False)


@pytest.mark.parametrize("url", ["http://", "http:///v1", "https:8.8.8.8", "http://:80/"])
def test_urls_without_a_host_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False, resolve=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:fake-pass@api.openai.com/v1",
        "https://user@api.openai.com/v1",
        "https://:fake-pass@8.8.8.8/v1",
        "https://@8.8.8.8/v1",
        "https://api.openai.com@127.0.0.1/",
        "https://127.0.0.1\\@api.openai.com/",
    ],
)
def test_userinfo_is_refused(url: str) -> None:
    with pytest.raises(UnsafeURL) as info:
        check_url(url, allow_private=False, resolve=False)
    assert "fake-pass" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1\r\nX-Injected: 1",
        "https://api.openai.com/v1\n",
        "https://api.openai\t.com/v1",
        "https://api.openai.com/v1\x00",
        "https://api.openai.com/v 1",
        "https://exa\x01mple.com/v1",
        "https://example.com\x1f/v1",
        "https://example.com/\x7f",
        "https://127.0.0.1\x0bfoo/",
    ],
)
def test_control_characters_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False, resolve=False)


@pytest.mark.parametrize("url", ["http://[::1", "http://[abc]/", "http://[8.8.8.8]/"])
def test_malformed_urls_raise_unsafe_url_not_a_bare_value_error(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False, resolve=False)
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://8.8.8.8/v1", "https://8.8.8.8/v1"),
        ("https://8.8.8.8/v1/", "https://8.8.8.8/v1"),
        ("https://8.8.8.8", "https://8.8.8.8"),
        ("https://8.8.8.8:8443/v1//", "https://8.8.8.8:8443/v1"),
        ("HTTPS://8.8.8.8/v1", "HTTPS://8.8.8.8/v1"),
        ("http://1.1.1.1/", "http://1.1.1.1"),
        ("https://[2001:4860:4860::8888]/v1/", "https://[2001:4860:4860::8888]/v1"),
        ("https://[::ffff:8.8.8.8]/v1", "https://[::ffff:8.8.8.8]/v1"),
        ("https://100.63.255.255/", "https://100.63.255.255"),
        ("https://100.128.0.1/", "https://100.128.0.1"),
        ("https://172.32.0.1/", "https://172.32.0.1"),
        ("https://11.0.0.1/", "https://11.0.0.1"),
    ],
)
def test_public_literal_addresses_are_accepted(url: str, expected: str) -> None:
    assert check_url(url, allow_private=False) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
        ("https://API.OpenAI.com:443/v1/", "https://API.OpenAI.com:443/v1"),
        ("https://generativelanguage.googleapis.com/v1beta/", "https://generativelanguage.googleapis.com/v1beta"),
        ("https://my-localhost-proxy.example.com/v1", "https://my-localhost-proxy.example.com/v1"),
        ("https://localhost.example.com/v1", "https://localhost.example.com/v1"),
        ("https://metadata.example.com/v1", "https://metadata.example.com/v1"),
        ("https://münchen.example/v1", "https://münchen.example/v1"),
    ],
)
def test_public_names_are_accepted_without_resolving(url: str, expected: str) -> None:
    assert check_url(url, allow_private=False, resolve=False) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:9000/v1", "http://127.0.0.1:9000/v1"),
        ("http://127.0.0.1:9000/v1/", "http://127.0.0.1:9000/v1"),
        ("http://localhost:11434/", "http://localhost:11434"),
        ("http://10.0.0.5:8000/v1", "http://10.0.0.5:8000/v1"),
        ("http://[::1]:8080/v1", "http://[::1]:8080/v1"),
        ("http://169.254.169.254/", "http://169.254.169.254"),
    ],
)
def test_allow_private_lifts_the_address_checks(url: str, expected: str) -> None:
    assert check_url(url, allow_private=True) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "http://user:fake-pass@127.0.0.1:9000/v1",
        "http://user@localhost/",
        "http://127.0.0.1:9000/v1\r\n",
        "http://",
    ],
)
def test_allow_private_still_refuses_scheme_userinfo_and_control_chars(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=True)


def test_unsafe_url_is_a_value_error() -> None:
    assert issubclass(UnsafeURL, ValueError)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "0.0.0.0",
        "::1",
        "::",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:10.0.0.1",
        "2002:a9fe:a9fe::1",
        "ff02::1",
        "224.0.0.251",
    ],
)
def test_is_blocked_address_true(address: str) -> None:
    assert is_blocked_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_is_blocked_address_false(address: str) -> None:
    assert is_blocked_address(ipaddress.ip_address(address)) is False
