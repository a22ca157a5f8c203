"""Helpers for the backup tests: a configuration touching every table, and an exact dump of it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from shared.backups.tables import CONFIG_TABLES

PROVIDER_KEY = "sk-backup-test-provider-key-0000000000"
NODE_KEY = "sk-backup-test-node-key-00000000000000"
PROXY_PASSWORD = "backup-proxy-Pa55word"


async def _created(admin: AsyncTestClient, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await admin.request(method, path, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    answer: dict[str, Any] = response.json()
    return answer


async def populate(admin: AsyncTestClient) -> dict[str, str]:
    """One or more rows in every configuration table, through the API; returns some ids."""
    node = await _created(
        admin,
        "POST",
        "/api/provider-nodes",
        {
            "prefix": "corp",
            "name": "Corp",
            "type": "openai-compatible",
            "baseUrl": "http://127.0.0.1:9/v1",
            "apiKey": NODE_KEY,
            "models": ["corp-large"],
        },
    )
    connection = await _created(
        admin,
        "POST",
        "/api/providers",
        {
            "provider": "openai",
            "name": "main",
            "apiKey": PROVIDER_KEY,
            "baseUrl": "http://127.0.0.1:9/v1",
            "priority": 2,
            "maxConcurrent": 3,
        },
    )
    key = await _created(admin, "POST", "/api/keys", {"name": "ci", "scopes": ["inference"]})
    await _created(admin, "POST", "/api/usage/budget", {"keyId": key["id"], "limit": 12.5, "period": "weekly"})
    await _created(
        admin,
        "POST",
        "/api/combos",
        {
            "name": "smart",
            "strategy": "weighted",
            "models": [{"model": "openai/gpt-4o-mini", "weight": 3, "connectionId": connection["id"]}, "corp/x"],
        },
    )
    await _created(admin, "PUT", "/api/models/alias", {"alias": "fast", "model": "openai/gpt-4o-mini"})
    await _created(
        admin,
        "POST",
        "/api/policies",
        {"name": "office", "models": ["gpt-*"], "keyIds": [key["id"]], "days": [1, 2], "hourFrom": 8, "hourTo": 18},
    )
    await _created(admin, "PATCH", "/api/settings", {"usageRetentionDays": 30})
    await _created(
        admin,
        "PUT",
        "/api/settings/proxy",
        {
            "global": {
                "type": "http",
                "host": "127.0.0.1",
                "port": 3128,
                "username": "proxy-admin",
                "password": PROXY_PASSWORD,
            }
        },
    )
    await _created(admin, "POST", "/api/provider-models", {"provider": "corp", "model": "corp-small"})
    await _created(admin, "PATCH", "/api/pricing", {"provider": "openai", "model": "gpt-4o", "input": 1.5, "output": 6})
    return {"node": str(node["id"]), "connection": str(connection["id"]), "key": str(key["id"]), "raw_key": key["key"]}


async def add_usage(pool: asyncpg.Pool, count: int) -> None:
    await pool.executemany(
        """INSERT INTO usage_events (request_id, ts, endpoint, status, tokens_in, cost_micros, latency_ms)
           VALUES ($1, now(), 'chat.completions', 200, $2, $3, 12.5)""",
        [(f"backup-usage-{i:05d}", i, i * 10) for i in range(count)],
    )


async def dump_config(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every configuration row, every column, in a stable order (JSON as Postgres' canonical text)."""
    dump = {}
    for table in CONFIG_TABLES:
        rows = await pool.fetch(f'SELECT * FROM "{table}"')
        dump[table] = sorted((tuple(row.values()) for row in rows), key=repr)
    return dump


async def config_version(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT version FROM config_version WHERE id = 1"))


async def wipe_config(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE " + ", ".join(CONFIG_TABLES) + " CASCADE")  # eval runs reference keys


def edited(source: bytes, folder: Path, *statements: str, name: str = "edited.sqlite") -> bytes:
    """A copy of the export `source` changed by SQL statements (a hostile or broken variant)."""
    path = folder / name
    path.write_bytes(source)
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()
    return path.read_bytes()
