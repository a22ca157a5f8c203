"""The benchmark's own OmniRoute: fresh database, own Redis db, pinned processes, one provider and key."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import redis

from services.cli.http import get_status, request_json
from services.cli.local_stack import EdgeSpec, LocalStack, StackLayout
from services.control.db.migrate import migrate

__all__ = ["BenchStack", "Pinning", "StackOptions"]

PG_ROOT = "postgresql://postgres@127.0.0.1:5432"
REDIS_ROOT = "redis://127.0.0.1:6379"
UPSTREAM_KEY = "sk-fake-upstream-bench-0123456789abcdef"
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@dataclass(frozen=True, slots=True)
class Pinning:
    """Where things run: the edge on `edge`, everything else (and the load generator) on `support`."""

    edge: frozenset[int] | None
    support: frozenset[int] | None

    @classmethod
    def for_machine(cls) -> Pinning:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls(None, None)
        return cls(frozenset({cpus[1]}), frozenset({cpus[0]}))

    def describe(self) -> dict[str, list[int] | None]:
        return {
            "edge": sorted(self.edge) if self.edge else None,
            "support_and_load_generator": sorted(self.support) if self.support else None,
        }


@dataclass(frozen=True, slots=True)
class StackOptions:
    edge_workers: int = 1
    database: str = "omniroute_bench"
    redis_db: int = 11
    pinning: Pinning = field(default_factory=lambda: Pinning(None, None))
    keep_logs: bool = False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drop_database(name: str) -> None:
    admin = await asyncpg.connect(f"{PG_ROOT}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _fresh_database(name: str) -> str:
    await _drop_database(name)
    url = f"{PG_ROOT}/{name}"
    await migrate(url)
    return url


class BenchStack:
    """Start with `start()`; `close()` always (stops every child, drops the database, flushes Redis)."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.redis_url = f"{REDIS_ROOT}/{options.redis_db}"
        self.work_dir = Path(tempfile.mkdtemp(prefix="omniroute-bench-"))
        self.stack: LocalStack | None = None
        self.api_key = ""
        self.admin_password = secrets.token_urlsafe(18)

    @property
    def running(self) -> LocalStack:
        assert self.stack is not None, "start() first"
        return self.stack

    def _env(self, database_url: str) -> dict[str, str]:
        env = {name: os.environ[name] for name in _PASS_THROUGH if name in os.environ}
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=self.redis_url,
            STORAGE_ENCRYPTION_KEY=secrets.token_urlsafe(48),
            JWT_SECRET=secrets.token_urlsafe(48),
            INITIAL_PASSWORD=self.admin_password,
            OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS="true",
            OMNIROUTE_LOG_LEVEL="INFO",
            OMNIROUTE_DATA_DIR=str(self.work_dir / "data"),
        )
        return env

    def start(self) -> None:
        database_url = asyncio.run(_fresh_database(self.options.database))
        redis.Redis.from_url(self.redis_url).flushdb()
        pinning = self.options.pinning
        layout = StackLayout(
            log_dir=self.work_dir / "logs",
            control_port=free_port(),
            worker_port=free_port(),
            fake_upstream_port=free_port(),
            edges=(EdgeSpec(free_port(), self.options.edge_workers, pinning.edge),),
            env=self._env(database_url),
            support_cpus=pinning.support,
        )
        self.stack = LocalStack(layout)
        self.stack.start(ready_timeout=90)
        self._seed()

    def _seed(self) -> None:
        """Log in, create an `openai` provider on the fake upstream and an API key, wait until served."""
        control = self.running.control_url
        login = request_json("POST", f"{control}/api/auth/login", {"password": self.admin_password})
        if login.status != 200:
            raise RuntimeError(f"login to the control plane failed (HTTP {login.status})")
        # the session cookie plus its CSRF token, which cookie-authenticated writes must echo
        csrf = str(login.body.get("csrfToken", "")) if isinstance(login.body, dict) else ""
        headers = {"cookie": "; ".join(login.cookies), "x-csrf-token": csrf}
        provider = request_json(
            "POST",
            f"{control}/api/providers",
            {
                "provider": "openai",
                "name": "fake",
                "apiKey": UPSTREAM_KEY,
                "baseUrl": f"{self.running.fake_upstream_url}/v1",
            },
            headers,
        )
        if provider.status != 201:
            raise RuntimeError(f"creating the provider failed (HTTP {provider.status}): {provider.body}")
        key = request_json("POST", f"{control}/api/keys", {"name": "bench"}, headers)
        if key.status != 201 or not isinstance(key.body, dict):
            raise RuntimeError(f"creating the API key failed (HTTP {key.status}): {key.body}")
        self.api_key = str(key.body["key"])
        self._wait_serving()

    def _wait_serving(self, timeout: float = 15.0) -> None:
        url = f"{self.edge_url}/v1/models"
        auth = {"authorization": f"Bearer {self.api_key}"}
        deadline = time.monotonic() + timeout
        while get_status(url, timeout=2.0, headers=auth) != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the edge never served {url} with the new key")
            time.sleep(0.05)

    @property
    def edge_url(self) -> str:
        return self.running.edge_urls[0]

    @property
    def upstream_url(self) -> str:
        return self.running.fake_upstream_url

    def pid_of(self, name: str) -> int:
        return self.running.supervisor.children[name].pid

    def close(self, failed: bool) -> None:
        """Stop everything and clean up; keeps the logs (and says where) when the run failed."""
        if self.stack is not None:
            self.stack.stop()
        try:
            asyncio.run(_drop_database(self.options.database))
            redis.Redis.from_url(self.redis_url).flushdb()
        except (OSError, asyncpg.PostgresError, redis.RedisError) as exc:
            print(f"bench: cleanup incomplete ({type(exc).__name__}: {exc})")
        if failed or self.options.keep_logs:
            print(f"bench: stack logs kept in {self.work_dir / 'logs'}")
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)
