"""Which proxy a provider's calls use: the per-provider entry, else the global one; `none` is direct."""

from __future__ import annotations

from shared.outbound_proxy import OutboundProxy, ProxyTable

HTTP = {"type": "http", "host": "proxy.example", "port": 3128}
SOCKS = {"type": "socks5h", "host": "10.0.0.5", "port": 1080, "username": "u", "password": "p"}


def test_a_provider_entry_overrides_the_global_one_and_none_forces_direct() -> None:
    table = ProxyTable.from_settings({"global": HTTP, "providers": {"openai": SOCKS, "groq": {"type": "none"}}})
    assert table.for_provider("anthropic") == OutboundProxy("http", "proxy.example", 3128)
    assert table.for_provider("openai") == OutboundProxy("socks5h", "10.0.0.5", 1080, "u", "p")
    assert table.for_provider("groq") is None
    assert table.distinct() == {
        OutboundProxy("http", "proxy.example", 3128),
        OutboundProxy("socks5h", "10.0.0.5", 1080, "u", "p"),
    }


def test_no_row_or_a_malformed_one_means_direct() -> None:
    for value in (None, [], "x", {"global": {"type": "ftp", "host": "h", "port": 1}}, {"global": {**HTTP, "port": 0}}):
        table = ProxyTable.from_settings(value)
        assert table.is_empty
        assert table.for_provider("openai") is None


def test_a_malformed_provider_entry_falls_back_to_the_global_proxy() -> None:
    table = ProxyTable.from_settings({"global": HTTP, "providers": {"openai": {"type": "socks5", "port": "x"}}})
    assert table.for_provider("openai") == OutboundProxy("http", "proxy.example", 3128)


def test_the_url_and_repr_never_show_the_password() -> None:
    proxy = OutboundProxy.from_entry(SOCKS)
    assert proxy is not None
    assert proxy.url == "socks5h://10.0.0.5:1080"
    assert proxy.remote_dns and proxy.is_socks
    assert "p'" not in repr(proxy) and "password" not in repr(proxy)
    assert OutboundProxy("http", "::1", 8080).url == "http://[::1]:8080"
