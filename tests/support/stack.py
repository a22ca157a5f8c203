"""A whole stack for end-to-end tests: separate processes, real sockets, real Postgres and Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis

from services.cli.local_stack import EdgeSpec, LocalStack, StackLayout
from tests.support.auth import login_sync
from tests.support.db import fresh_database
from tests.support.env import base_env, database_url, free_port

UPSTREAM_KEY = "sk-fake-upstream-e2e-key-0123456789abcdef"


@dataclass
class E2EStack:
    stack: LocalStack
    database: str
    redis_url: str
    admin: httpx.Client
    key: str = ""
    key_id: str = ""
    provider_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def edges(self) -> list[str]:
        return self.stack.edge_urls

    def create_key(self, name: str, **fields: Any) -> dict[str, Any]:
        response = self.admin.post("/api/keys", json={"name": name, **fields})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(database_url(self.database))
            try:
                return list(await conn.fetch(query, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def usage_rows(self, request_ids: Iterable[str]) -> dict[str, asyncpg.Record]:
        ids = list(request_ids)
        rows = self.fetch("SELECT * FROM usage_events WHERE request_id = ANY($1::text[])", ids)
        return {row["request_id"]: row for row in rows}

    def wait_usage_rows(self, request_ids: Iterable[str], timeout: float = 15.0) -> dict[str, asyncpg.Record]:
        wanted = set(request_ids)
        deadline = time.monotonic() + timeout
        rows: dict[str, asyncpg.Record] = {}
        while time.monotonic() < deadline:
            rows = self.usage_rows(wanted)
            if set(rows) == wanted:
                return rows
            time.sleep(0.1)
        missing = wanted - set(rows)
        raise AssertionError(f"{len(missing)} of {len(wanted)} usage rows never landed")

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)


def start_stack(
    name: str,
    log_dir: Path,
    redis_url: str,
    redis_db: int,
    edges: tuple[EdgeSpec, ...],
    with_worker: bool = True,
    **env: str,
) -> E2EStack:
    asyncio.run(fresh_database(name))
    environment = base_env(name, redis_db, **env)
    environment["REDIS_URL"] = redis_url
    environment["OMNIROUTE_DATA_DIR"] = str(log_dir / "data")
    layout = StackLayout(
        log_dir=log_dir,
        control_port=free_port(),
        worker_port=free_port(),
        fake_upstream_port=free_port(),
        edges=edges,
        env=environment,
        with_worker=with_worker,
    )
    stack = LocalStack(layout)
    stack.start(ready_timeout=60)
    admin = httpx.Client(base_url=stack.control_url, timeout=10)
    login_sync(admin)
    e2e = E2EStack(stack=stack, database=name, redis_url=redis_url, admin=admin)
    provider = admin.post(
        "/api/providers",
        json={"provider": "openai", "name": "fake", "apiKey": UPSTREAM_KEY, "baseUrl": f"{stack.fake_upstream_url}/v1"},
    )
    assert provider.status_code == 201, provider.text
    e2e.provider_id = provider.json()["id"]
    created = e2e.create_key("e2e")
    e2e.key, e2e.key_id = created["key"], created["id"]
    wait_until_serving(e2e)
    return e2e


def wait_until_serving(e2e: E2EStack, timeout: float = 10.0) -> None:
    """Every edge has the snapshot with the key and the provider."""
    deadline = time.monotonic() + timeout
    pending = list(e2e.edges)
    while pending and time.monotonic() < deadline:
        pending = [
            edge
            for edge in pending
            if httpx.get(f"{edge}/v1/models", headers={"authorization": f"Bearer {e2e.key}"}).status_code != 200
        ]
        time.sleep(0.05)
    assert not pending, f"edges never saw the new config: {pending}"
