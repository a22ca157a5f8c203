"""Outbound proxies: which proxy (if any) a call to a provider goes through.

The `proxy` settings row holds a global entry and per-provider entries (keyed by provider id:
a catalog id or a provider-node prefix); a provider's entry overrides the global one, and an
entry of type `none` forces a direct connection. In Postgres the password is encrypted
(`passwordEnc`); the snapshot, itself encrypted, carries it decrypted (`password`), exactly as it
carries provider API keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DIRECT",
    "HTTP_TYPES",
    "PROXY_SETTINGS_KEY",
    "PROXY_TYPES",
    "SOCKS_TYPES",
    "OutboundProxy",
    "ProxyTable",
    "proxy_aad",
]

PROXY_SETTINGS_KEY = "proxy"
DIRECT = "none"
HTTP_TYPES = ("http", "https")
SOCKS_TYPES = ("socks5", "socks5h")  # socks5h: the proxy resolves the target's name
PROXY_TYPES = HTTP_TYPES + SOCKS_TYPES


def proxy_aad(scope: str) -> str:
    """Associated data binding an encrypted proxy password to its entry (`global` or `provider:<id>`)."""
    return f"settings:proxy:{scope}"


@dataclass(frozen=True, slots=True)
class OutboundProxy:
    """One proxy; hashable, so edges pool one client session per distinct proxy."""

    type: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def is_socks(self) -> bool:
        return self.type in SOCKS_TYPES

    @property
    def remote_dns(self) -> bool:
        return self.type == "socks5h"

    @property
    def url(self) -> str:
        """The proxy's URL without credentials (safe to log)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.type}://{host}:{self.port}"

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> OutboundProxy | None:
        """A snapshot entry as a proxy; None for `none` or a malformed entry (control validated it)."""
        kind, host, port = entry.get("type"), entry.get("host"), entry.get("port")
        if kind not in PROXY_TYPES or not isinstance(host, str) or not host:
            return None
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            return None
        username, password = entry.get("username"), entry.get("password")
        return cls(
            type=str(kind),
            host=host,
            port=port,
            username=username if isinstance(username, str) and username else None,
            password=password if isinstance(password, str) and password else None,
        )


@dataclass(frozen=True, slots=True)
class ProxyTable:
    """The global proxy and the per-provider overrides (None in `providers` = forced direct)."""

    default: OutboundProxy | None = None
    providers: Mapping[str, OutboundProxy | None] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return self.default is None and not self.providers

    def for_provider(self, provider: str) -> OutboundProxy | None:
        if provider in self.providers:
            return self.providers[provider]
        return self.default

    def distinct(self) -> frozenset[OutboundProxy]:
        found = {proxy for proxy in self.providers.values() if proxy is not None}
        if self.default is not None:
            found.add(self.default)
        return frozenset(found)

    @classmethod
    def from_settings(cls, value: Any) -> ProxyTable:
        """The snapshot's `proxy` settings row (passwords already decrypted by the publisher)."""
        if not isinstance(value, Mapping):
            return cls()
        raw_default = value.get("global")
        default = OutboundProxy.from_entry(raw_default) if isinstance(raw_default, Mapping) else None
        providers: dict[str, OutboundProxy | None] = {}
        raw_providers = value.get("providers")
        if isinstance(raw_providers, Mapping):
            for provider, entry in raw_providers.items():
                if not isinstance(entry, Mapping):
                    continue
                if entry.get("type") == DIRECT:
                    providers[str(provider)] = None
                    continue
                proxy = OutboundProxy.from_entry(entry)
                if proxy is not None:
                    providers[str(provider)] = proxy
        return cls(default=default, providers=providers)
