"""The edge's in-memory view of a config snapshot, indexed for the hot path.

Built once per snapshot (off the request path) and swapped atomically: a request holds a
reference to one `EdgeConfig` for its whole life, so a swap never changes config mid-request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from shared.config.catalog_overrides import CatalogOverrides, catalog_overrides
from shared.config.resilience import routing_settings
from shared.config.snapshot import ComboConfig, ConnectionConfig, KeyConfig, NodeConfig, PolicyConfig, Snapshot
from shared.formats.base import UpstreamCall
from shared.oauth.registry import find_oauth_provider
from shared.outbound_proxy import PROXY_SETTINGS_KEY, OutboundProxy, ProxyTable
from shared.providers.catalog import PROVIDERS, find_provider
from shared.providers.spec import AuthStyle, Price, ProviderSpec, UrlStyle

__all__ = ["EdgeConfig", "Target", "Upstream", "connection_upstream"]

_AZURE_API_VERSION = "2024-10-21"


@dataclass(frozen=True, slots=True)
class Upstream:
    """One connection, ready to call: base URL and auth headers computed once per snapshot."""

    connection: ConnectionConfig
    spec: ProviderSpec
    base_url: str
    auth_headers: tuple[tuple[str, str], ...]
    models: frozenset[str]
    proxy: OutboundProxy | None = None  # the outbound proxy calls to this provider go through

    @property
    def dialect(self) -> str:
        return self.spec.dialect

    def url(self, call: UpstreamCall, model: str) -> str:
        if self.spec.url_style is UrlStyle.AZURE:
            extra = self.connection.extra
            deployment = str(extra.get("deployment") or model)
            version = str(extra.get("apiVersion") or _AZURE_API_VERSION)
            separator = "&" if "?" in call.path else "?"
            return (
                f"{self.base_url}/openai/deployments/{quote(deployment, safe='')}{call.path}"
                f"{separator}api-version={quote(version, safe='')}"
            )
        return self.base_url + call.path

    def price(self, model: str) -> Price | None:
        return self.spec.prices.get(model)

    def takes_images(self, model: str) -> bool:
        return model not in self.spec.text_only


@dataclass(frozen=True, slots=True)
class Target:
    upstream: Upstream
    model: str  # the model id the upstream expects


_AUTH_HEADER = {
    AuthStyle.BEARER: ("authorization", "Bearer {}"),
    AuthStyle.API_KEY_HEADER: ("api-key", "{}"),
    AuthStyle.X_API_KEY: ("x-api-key", "{}"),
    AuthStyle.GOOG_API_KEY: ("x-goog-api-key", "{}"),
}


def _auth_headers(connection: ConnectionConfig, spec: ProviderSpec) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = [("content-type", "application/json")]
    if connection.auth_type == "oauth":
        # An OAuth access token is a Bearer token whatever header the provider's API keys use.
        oauth = find_oauth_provider(str(connection.extra.get("oauthProvider") or ""))
        if connection.api_key:
            headers.append(("authorization", f"Bearer {connection.api_key}"))
        headers.extend(oauth.upstream_headers if oauth else ())
        return tuple(headers)
    template = _AUTH_HEADER.get(spec.auth)
    if connection.api_key and template is not None:
        headers.append((template[0], template[1].format(connection.api_key)))
    return tuple(headers)


def _with_overrides(spec: ProviderSpec, overrides: CatalogOverrides) -> ProviderSpec:
    """The spec with the provider's custom models added and its price overrides taking precedence."""
    added = tuple(m for m in overrides.added.get(spec.id, ()) if m not in spec.models)
    prices = overrides.prices.get(spec.id)
    if not added and not prices:
        return spec
    return replace(spec, models=spec.models + added, prices={**spec.prices, **(prices or {})})


def _node_upstream(node: NodeConfig, overrides: CatalogOverrides) -> Upstream:
    """A user-defined endpoint becomes a provider of its own, named by its prefix."""
    anthropic = node.type == "anthropic-compatible"
    spec = ProviderSpec(
        id=node.prefix,
        name=node.name,
        dialect="anthropic" if anthropic else "openai_chat",
        base_url=node.base_url,
        auth=AuthStyle.X_API_KEY if anthropic else AuthStyle.BEARER,
        models=node.models,
        requires_api_key=False,
    )
    spec = _with_overrides(spec, overrides)
    connection = ConnectionConfig(id=node.id, provider=node.prefix, name=node.name, api_key=node.api_key)
    return Upstream(
        connection, spec, node.base_url.rstrip("/"), _auth_headers(connection, spec), frozenset(spec.models)
    )


def connection_upstream(connection: ConnectionConfig) -> Upstream | None:
    """One connection ready to call, exactly as the edge builds it (None: no provider or no base URL)."""
    return _upstream(connection, PROVIDERS)


def _upstream(connection: ConnectionConfig, specs: Mapping[str, ProviderSpec]) -> Upstream | None:
    spec = specs.get(connection.provider)
    base = connection.base_url or (spec.base_url if spec else None)
    if spec is None or base is None:
        return None
    models = set(spec.models) | set(connection.models)
    if connection.default_model:
        models.add(connection.default_model)
    return Upstream(
        connection=connection,
        spec=spec,
        base_url=base.rstrip("/"),
        auth_headers=_auth_headers(connection, spec),
        models=frozenset(models),
    )


class EdgeConfig:
    __slots__ = (
        "_by_provider",
        "_hidden",
        "_model_owners",
        "aliases",
        "combos",
        "idempotency",
        "keys_by_hash",
        "memo",
        "policies",
        "proxies",
        "rate_limits",
        "resilience",
        "settings",
        "version",
    )

    def __init__(self, snapshot: Snapshot) -> None:
        self.version = snapshot.version
        # Values derived from this snapshot alone (a model's route, a key's limits), computed on
        # first use by whoever needs them; they live and die with the snapshot.
        self.memo: dict[tuple[str, str], Any] = {}
        self.keys_by_hash: dict[str, KeyConfig] = {key.key_hash: key for key in snapshot.keys}
        self.aliases = dict(snapshot.aliases)
        self.settings = dict(snapshot.settings)
        self.combos: dict[str, ComboConfig] = {c.name: c for c in snapshot.combos if c.is_active}
        self.policies: tuple[PolicyConfig, ...] = tuple(
            sorted((p for p in snapshot.policies if p.enabled), key=lambda p: (p.priority, p.name))
        )
        self.resilience, self.rate_limits, self.idempotency = routing_settings(self.settings)
        overrides = catalog_overrides(self.settings)
        self._hidden = overrides.hidden
        specs = {ident: _with_overrides(spec, overrides) for ident, spec in PROVIDERS.items()}
        by_provider: dict[str, list[Upstream]] = {}
        for connection in sorted(snapshot.connections, key=lambda c: (c.priority, c.name, c.id)):
            upstream = _upstream(connection, specs) if connection.is_active else None
            if upstream is not None:
                by_provider.setdefault(upstream.spec.id, []).append(upstream)
        for node in snapshot.nodes:
            by_provider.setdefault(node.prefix, []).append(_node_upstream(node, overrides))
        self.proxies = ProxyTable.from_settings(self.settings.get(PROXY_SETTINGS_KEY))
        if not self.proxies.is_empty:
            for provider, items in by_provider.items():
                proxy = self.proxies.for_provider(provider)
                by_provider[provider] = [replace(upstream, proxy=proxy) for upstream in items]
        self._by_provider = {provider: tuple(items) for provider, items in by_provider.items()}
        owners: dict[str, list[Upstream]] = {}
        for upstreams in self._by_provider.values():
            for upstream in upstreams:
                for model in upstream.models:
                    owners.setdefault(model, []).append(upstream)
        self._model_owners = {model: tuple(items) for model, items in owners.items()}

    @classmethod
    def empty(cls) -> EdgeConfig:
        return cls(Snapshot(version=0, published_at=0.0))

    def provider_ids(self) -> list[str]:
        return list(self._by_provider)

    def upstreams_of(self, provider: str) -> tuple[Upstream, ...]:
        """Active connections of one provider (catalog id or node prefix), best priority first."""
        return self._by_provider.get(provider, ())

    def provider_id(self, prefix: str) -> str | None:
        """The provider a model prefix names: a catalog id or alias, or a node prefix."""
        spec = find_provider(prefix)
        provider = spec.id if spec is not None else prefix.lower()
        return provider if provider in self._by_provider else None

    def owners_of(self, model: str) -> tuple[Upstream, ...]:
        """Connections whose provider lists this bare model."""
        return self._model_owners.get(model, ())

    def upstreams(self) -> Iterable[Upstream]:
        for items in self._by_provider.values():
            yield from items

    def model_ids(self) -> list[tuple[str, str]]:
        """(id, owner) for model listings: `provider/model` for every model of every active provider.

        Hidden models are left out; they stay routable when a client names them."""
        seen: dict[str, str] = {}
        for provider, upstreams in self._by_provider.items():
            for upstream in upstreams:
                for model in sorted(upstream.models):
                    ident = f"{provider}/{model}"
                    if ident not in self._hidden:
                        seen.setdefault(ident, provider)
        for name in self.combos:
            seen.setdefault(name, "combo")
        return sorted(seen.items())
