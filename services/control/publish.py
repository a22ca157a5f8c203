"""Building config snapshots from Postgres and publishing them to Redis.

After every committed change the writer calls `publish_latest()`. A backstop loop also compares
the database version with the one in Redis and republishes when Redis is behind (a lost publish,
a crashed replica, or a Redis restart that emptied it), so edges always converge.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.control.resources.proxy.entries import reveal_passwords
from shared import metrics
from shared.config.budgets import BUDGETS_KEY
from shared.config.catalog_overrides import MODELS_KEY, PRICING_KEY
from shared.config.snapshot import (
    ComboConfig,
    ComboStep,
    ConnectionConfig,
    KeyConfig,
    NodeConfig,
    PolicyConfig,
    Snapshot,
    SnapshotCodec,
)
from shared.crypto import FieldCipher
from shared.kv.config_channel import ConfigChannel
from shared.oauth.tokens import oauth_token_aad
from shared.outbound_proxy import PROXY_SETTINGS_KEY

__all__ = ["SnapshotPublisher", "connection_aad", "connection_config", "node_aad", "oauth_token_aad"]

log = logging.getLogger(__name__)


def connection_aad(connection_id: str) -> str:
    return f"provider_connections:{connection_id}"


def node_aad(node_id: str) -> str:
    return f"provider_nodes:{node_id}"


def _connection(row: asyncpg.Record, cipher: FieldCipher) -> ConnectionConfig:
    ident = str(row["id"])
    api_key = cipher.decrypt_text(row["api_key_enc"], connection_aad(ident)) if row["api_key_enc"] else None
    if row["auth_type"] == "oauth":
        token = row["oauth_access_token_enc"]
        api_key = cipher.decrypt_text(token, oauth_token_aad(ident, "access")) if token else None
    return ConnectionConfig(
        id=ident,
        provider=row["provider"],
        name=row["name"],
        api_key=api_key,
        base_url=row["base_url"],
        priority=row["priority"],
        is_active=row["is_active"],
        default_model=row["default_model"],
        models=tuple(row["models"]),
        extra=row["provider_specific_data"] or {},
        max_requests_per_minute=row["max_requests_per_minute"],
        max_requests_per_day=row["max_requests_per_day"],
        max_tokens_per_minute=row["max_tokens_per_minute"],
        max_concurrent=row["max_concurrent"],
        auth_type=row["auth_type"],
    )


def connection_config(row: asyncpg.Record, cipher: FieldCipher) -> ConnectionConfig:
    """A `provider_connections` row as the edge receives it (credentials decrypted)."""
    return _connection(row, cipher)


def _catalog_rows(models: list[asyncpg.Record], prices: list[asyncpg.Record]) -> dict[str, Any]:
    """Custom models and price overrides, under the reserved settings keys (shared/config/catalog_overrides.py)."""
    return {
        MODELS_KEY: [
            {
                "provider": row["provider"],
                "model": row["model"],
                "hidden": row["hidden"],
                "kind": row["kind"],
                "displayName": row["display_name"],
                "contextWindow": row["context_window"],
                "maxOutputTokens": row["max_output_tokens"],
                "capabilities": row["capabilities"] or {},
            }
            for row in models
        ],
        PRICING_KEY: [
            {
                "provider": row["provider"],
                "model": row["model"],
                "input": float(row["input_per_million"]),
                "output": float(row["output_per_million"]),
                "cached": None if row["cached_per_million"] is None else float(row["cached_per_million"]),
                "reasoning": None if row["reasoning_per_million"] is None else float(row["reasoning_per_million"]),
            }
            for row in prices
        ],
    }


def _node(row: asyncpg.Record, cipher: FieldCipher) -> NodeConfig:
    ident = str(row["id"])
    api_key = cipher.decrypt_text(row["api_key_enc"], node_aad(ident)) if row["api_key_enc"] else None
    return NodeConfig(
        id=ident,
        prefix=row["prefix"],
        name=row["name"],
        type=row["type"],
        base_url=row["base_url"],
        api_key=api_key,
        models=tuple(row["models"]),
    )


def _key(row: asyncpg.Record) -> KeyConfig:
    expires = row["expires_at"]
    return KeyConfig(
        id=str(row["id"]),
        name=row["name"],
        key_hash=row["key_hash"],
        scopes=tuple(row["scopes"]),
        allowed_models=tuple(row["allowed_models"]),
        expires_at=expires.timestamp() if expires else None,
        max_requests_per_minute=row["max_requests_per_minute"],
        max_requests_per_day=row["max_requests_per_day"],
        max_tokens_per_minute=row["max_tokens_per_minute"],
    )


def _combo(row: asyncpg.Record) -> ComboConfig:
    steps: list[Any] = row["steps"] or []
    return ComboConfig(
        id=str(row["id"]),
        name=row["name"],
        strategy=row["strategy"],
        is_active=row["is_active"],
        steps=tuple(
            ComboStep(
                model=step.get("model"),
                combo=step.get("combo"),
                weight=int(step.get("weight", 1)),
                connection_id=step.get("connectionId"),
            )
            for step in steps
            if isinstance(step, dict) and (step.get("model") or step.get("combo"))
        ),
    )


def _policy(row: asyncpg.Record) -> PolicyConfig:
    return PolicyConfig(
        id=str(row["id"]),
        name=row["name"],
        priority=row["priority"],
        enabled=row["enabled"],
        models=tuple(row["models"]),
        key_ids=tuple(str(key) for key in row["key_ids"]),
        days=tuple(row["days"]),
        hour_from=row["hour_from"],
        hour_to=row["hour_to"],
        effect=row["effect"],
        prefer_providers=tuple(row["prefer_providers"]),
        max_tokens=row["max_tokens"],
    )


def _budgets(rows: list[asyncpg.Record]) -> dict[str, Any]:
    """Per-key budgets under their reserved settings key (shared/config/budgets.py)."""
    return {str(row["api_key_id"]): {"limitMicros": int(row["limit_micros"]), "period": row["period"]} for row in rows}


class SnapshotPublisher:
    def __init__(
        self, pool: asyncpg.Pool, redis: Redis, codec: SnapshotCodec, cipher: FieldCipher, interval: float
    ) -> None:
        self._pool = pool
        self._channel = ConfigChannel(redis)
        self._codec = codec
        self._cipher = cipher
        self._interval = interval
        self._lock = asyncio.Lock()

    async def build(self) -> Snapshot:
        """Read one consistent view of the configuration and the version it corresponds to."""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            version = await conn.fetchval("SELECT version FROM config_version WHERE id = 1")
            connections = await conn.fetch(
                "SELECT * FROM provider_connections WHERE is_active ORDER BY priority, name, id"
            )
            nodes = await conn.fetch("SELECT * FROM provider_nodes WHERE is_active ORDER BY prefix")
            keys = await conn.fetch(
                """SELECT * FROM api_keys
                   WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"""
            )
            combos = await conn.fetch("SELECT * FROM combos ORDER BY name")
            policies = await conn.fetch("SELECT * FROM policies WHERE enabled ORDER BY priority, name, id")
            aliases = await conn.fetch("SELECT alias, model FROM model_aliases")
            settings = await conn.fetch("SELECT key, value FROM settings")
            models = await conn.fetch("SELECT * FROM provider_models ORDER BY provider, model")
            prices = await conn.fetch("SELECT * FROM pricing ORDER BY provider, model")
            budgets = await conn.fetch("SELECT api_key_id, limit_micros, period FROM api_key_budgets")
        return Snapshot(
            version=int(version),
            published_at=time.time(),
            connections=tuple(_connection(row, self._cipher) for row in connections),
            nodes=tuple(_node(row, self._cipher) for row in nodes),
            keys=tuple(_key(row) for row in keys),
            combos=tuple(_combo(row) for row in combos),
            policies=tuple(_policy(row) for row in policies),
            aliases={row["alias"]: row["model"] for row in aliases},
            settings={**self._settings(settings), **_catalog_rows(models, prices), BUDGETS_KEY: _budgets(budgets)},
        )

    def _settings(self, rows: list[asyncpg.Record]) -> dict[str, Any]:
        settings = {row["key"]: row["value"] for row in rows}
        if PROXY_SETTINGS_KEY in settings:  # proxy passwords travel decrypted, as provider keys do
            settings[PROXY_SETTINGS_KEY] = reveal_passwords(settings[PROXY_SETTINGS_KEY], self._cipher)
        return settings

    async def publish_latest(self) -> int | None:
        """Publish the current configuration; failures are logged and left to the backstop."""
        async with self._lock:
            try:
                snapshot = await self.build()
                current = await self._channel.publish(snapshot.version, self._codec.encode(snapshot))
            except (RedisError, OSError, asyncpg.PostgresError) as exc:
                metrics.CONFIG_PUBLISHES.labels(result="error").inc()
                log.warning("snapshot publish failed; the backstop will retry", extra={"error": type(exc).__name__})
                return None
        metrics.CONFIG_PUBLISHES.labels(result="published" if current == snapshot.version else "superseded").inc()
        return current

    async def _behind(self) -> bool:
        async with self._pool.acquire() as conn:
            db_version = int(await conn.fetchval("SELECT version FROM config_version WHERE id = 1"))
        return await self._channel.current_version() < db_version

    async def run_backstop(self) -> None:
        while True:
            try:
                if await self._behind():
                    await self.publish_latest()
            except (RedisError, OSError, asyncpg.PostgresError) as exc:
                log.debug("backstop check failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self._interval)
