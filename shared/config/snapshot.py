"""The configuration snapshot: everything an edge needs to serve, published by the control plane.

The control plane owns Postgres; after each committed change it builds one of these, encrypts it
(it carries decrypted provider credentials) and publishes it to Redis under a version number.
Edges decode it into memory and never query Postgres.
"""

from __future__ import annotations

import zlib
from typing import Any

import msgspec

from shared.crypto import FieldCipher

__all__ = [
    "ComboConfig",
    "ComboStep",
    "ConnectionConfig",
    "KeyConfig",
    "NodeConfig",
    "PolicyConfig",
    "Snapshot",
    "SnapshotCodec",
]


class ConnectionConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One provider account."""

    id: str
    provider: str
    name: str
    api_key: str | None = None
    base_url: str | None = None
    priority: int = 1
    is_active: bool = True
    default_model: str | None = None
    models: tuple[str, ...] = ()
    extra: dict[str, Any] = msgspec.field(default_factory=dict)
    max_requests_per_minute: int | None = None
    max_requests_per_day: int | None = None
    max_tokens_per_minute: int | None = None
    max_concurrent: int | None = None
    auth_type: str = "apikey"  # "oauth": api_key holds the current OAuth access token (always Bearer)


class NodeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A user-defined OpenAI- or Anthropic-compatible endpoint, addressed as `<prefix>/<model>`."""

    id: str
    prefix: str
    name: str
    type: str  # "openai-compatible" | "anthropic-compatible"
    base_url: str
    api_key: str | None = None
    models: tuple[str, ...] = ()


class KeyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One API key, by hash; revoked keys are simply absent."""

    id: str
    name: str
    key_hash: str
    scopes: tuple[str, ...] = ("inference",)
    allowed_models: tuple[str, ...] = ()
    expires_at: float | None = None  # epoch seconds
    max_requests_per_minute: int | None = None
    max_requests_per_day: int | None = None
    max_tokens_per_minute: int | None = None


class ComboStep(msgspec.Struct, frozen=True, kw_only=True):
    """A `provider/model` target (optionally pinned to one connection), or a reference to another combo."""

    model: str | None = None
    combo: str | None = None
    weight: int = 1
    connection_id: str | None = None


class ComboConfig(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    strategy: str = "priority"  # priority|weighted|round-robin|random|least-used|cost-optimized|latency|p2c
    steps: tuple[ComboStep, ...] = ()
    is_active: bool = True


class PolicyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A routing policy, evaluated at the edge in priority order (lowest first); the first match applies.

    Conditions (all given ones must hold): the requested model matches one of `models` (globs), the
    API key is one of `key_ids`, the UTC weekday is in `days` (0 = Monday) and the UTC hour is in
    [`hour_from`, `hour_to`). Actions: `effect` allow/deny, `prefer_providers` (targets of these
    providers first, in this order), `max_tokens` (a cap on what the client asked for).
    """

    id: str
    name: str
    priority: int = 100
    enabled: bool = True
    models: tuple[str, ...] = ()
    key_ids: tuple[str, ...] = ()
    days: tuple[int, ...] = ()
    hour_from: int | None = None
    hour_to: int | None = None
    effect: str = "allow"  # "allow" | "deny"
    prefer_providers: tuple[str, ...] = ()
    max_tokens: int | None = None


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    published_at: float
    connections: tuple[ConnectionConfig, ...] = ()
    nodes: tuple[NodeConfig, ...] = ()
    keys: tuple[KeyConfig, ...] = ()
    combos: tuple[ComboConfig, ...] = ()
    policies: tuple[PolicyConfig, ...] = ()
    aliases: dict[str, str] = msgspec.field(default_factory=dict)
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class SnapshotCodec:
    """Snapshot <-> encrypted, compressed bytes; the version is bound in as associated data."""

    __slots__ = ("_cipher", "_decoder", "_encoder")

    def __init__(self, storage_encryption_key: str) -> None:
        self._cipher = FieldCipher(storage_encryption_key, "config-snapshot")
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Snapshot)

    def encode(self, snapshot: Snapshot) -> bytes:
        plain = zlib.compress(self._encoder.encode(snapshot), level=6)
        return self._cipher.encrypt(plain, f"snapshot:{snapshot.version}".encode())

    def decode(self, blob: bytes, version: int) -> Snapshot:
        plain = self._cipher.decrypt(blob, f"snapshot:{version}".encode())
        snapshot = self._decoder.decode(zlib.decompress(plain))
        if snapshot.version != version:
            raise ValueError("snapshot version does not match its label")
        return snapshot
