"""The edge's in-memory view of a config snapshot, indexed for the hot path.

Built once per snapshot (off the request path) and swapped atomically: a request holds a
reference to one `EdgeConfig` for its whole life, so a swap never changes config mid-request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.config.snapshot import ConnectionConfig, KeyConfig, Snapshot
from shared.providers.catalog import PROVIDERS, find_provider
from shared.providers.spec import AuthStyle, ProviderSpec

__all__ = ["EdgeConfig", "Target", "Upstream"]

_MAX_ALIAS_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Upstream:
    """One connection, ready to call: its URL and auth headers are computed once."""

    connection: ConnectionConfig
    spec: ProviderSpec
    chat_url: str
    headers: tuple[tuple[str, str], ...]
    models: frozenset[str]


@dataclass(frozen=True, slots=True)
class Target:
    upstream: Upstream
    model: str  # the model id the upstream expects


def _headers(connection: ConnectionConfig, spec: ProviderSpec) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = [("content-type", "application/json")]
    key = connection.api_key
    if key and spec.auth is AuthStyle.BEARER:
        headers.append(("authorization", f"Bearer {key}"))
    elif key and spec.auth is AuthStyle.API_KEY_HEADER:
        headers.append(("api-key", key))
    return tuple(headers)


def _upstream(connection: ConnectionConfig) -> Upstream | None:
    spec = PROVIDERS.get(connection.provider)
    base = connection.base_url or (spec.base_url if spec else None)
    if spec is None or base is None:
        return None
    models = set(spec.models) | set(connection.models)
    if connection.default_model:
        models.add(connection.default_model)
    return Upstream(
        connection=connection,
        spec=spec,
        chat_url=base.rstrip("/") + spec.chat_path,
        headers=_headers(connection, spec),
        models=frozenset(models),
    )


class EdgeConfig:
    __slots__ = ("_by_provider", "_model_owners", "aliases", "keys_by_hash", "settings", "version")

    def __init__(self, snapshot: Snapshot) -> None:
        self.version = snapshot.version
        self.keys_by_hash: dict[str, KeyConfig] = {key.key_hash: key for key in snapshot.keys}
        self.aliases = dict(snapshot.aliases)
        self.settings = dict(snapshot.settings)
        by_provider: dict[str, list[Upstream]] = {}
        for connection in sorted(snapshot.connections, key=lambda c: (c.priority, c.name, c.id)):
            upstream = _upstream(connection) if connection.is_active else None
            if upstream is not None:
                by_provider.setdefault(upstream.spec.id, []).append(upstream)
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

    def resolve(self, model: str) -> tuple[Target, ...]:
        """Targets for a client model string, best first; empty when nothing serves it."""
        for _ in range(_MAX_ALIAS_DEPTH):
            alias = self.aliases.get(model)
            if alias is None:
                break
            model = alias
        prefix, slash, rest = model.partition("/")
        if slash and rest:
            spec = find_provider(prefix)
            if spec is not None and spec.id in self._by_provider:
                return tuple(Target(upstream, rest) for upstream in self._by_provider[spec.id])
        return tuple(Target(upstream, model) for upstream in self._model_owners.get(model, ()))

    def upstreams(self) -> Iterable[Upstream]:
        for items in self._by_provider.values():
            yield from items

    def model_ids(self) -> list[tuple[str, str]]:
        """(id, owner) for /v1/models: `provider/model` for every model of every active provider."""
        seen: dict[str, str] = {}
        for provider, upstreams in self._by_provider.items():
            for upstream in upstreams:
                for model in sorted(upstream.models):
                    seen.setdefault(f"{provider}/{model}", provider)
        return sorted(seen.items())
