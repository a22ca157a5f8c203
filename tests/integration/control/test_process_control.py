"""POST /api/shutdown and /api/restart on a dedicated `omniroute control` process (never the shared fixtures).

Shutdown: 202, then the process drains and exits 0. Restart: 202, then it exits with the restart
code, and the supervisor `omniroute up` uses starts it again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.cli.supervisor import RESTART_EXIT_CODE, ChildSpec, Supervisor
from tests.support.auth import login_sync
from tests.support.env import base_env, free_port

DATABASE = "omniroute_it"  # migrated by the session's pg_url fixture
REDIS_DB = 7


@pytest.fixture
def supervisor(tmp_path: Path, pg_url: str, clean_db: None) -> Iterator[Supervisor]:
    running = Supervisor(tmp_path / "logs", grace_seconds=5)
    yield running
    running.stop_all()


def start_control(supervisor: Supervisor, tmp_path: Path) -> str:
    port = free_port()
    env = base_env(DATABASE, REDIS_DB, OMNIROUTE_DATA_DIR=str(tmp_path / "data"))
    supervisor.start(ChildSpec("control", ("control", "--port", str(port)), env))
    url = f"http://127.0.0.1:{port}"
    assert supervisor.wait_ready([f"{url}/readyz"], timeout=60) is None
    return url


@contextmanager
def logged_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as client:
        login_sync(client)
        yield client


def wait_exit(supervisor: Supervisor, timeout: float = 20.0) -> int:
    child = supervisor.children["control"]
    deadline = time.monotonic() + timeout
    while child.poll() is None:
        assert time.monotonic() < deadline, "the control process did not stop"
        time.sleep(0.05)
    return child.returncode


async def test_shutdown_answers_202_then_stops_gracefully(
    supervisor: Supervisor, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    url = start_control(supervisor, tmp_path)
    with logged_in(url) as client:
        response = client.post("/api/shutdown")
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["action"] == "shutdown"
        assert answer["accepted"] is True
        assert answer["serverPid"] == supervisor.children["control"].pid
    assert wait_exit(supervisor) == 0
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'control.shutdown'")
    assert row is not None
    assert row["actor"] == "admin"
    assert row["target_id"].endswith(f":{answer['serverPid']}")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/readyz", timeout=1)


async def test_restart_exits_with_the_restart_code_and_the_supervisor_starts_it_again(
    supervisor: Supervisor, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    url = start_control(supervisor, tmp_path)
    first_pid = supervisor.children["control"].pid
    with logged_in(url) as client:
        response = client.post("/api/restart")
        assert response.status_code == 202, response.text
        assert response.json()["action"] == "restart"
    assert wait_exit(supervisor) == RESTART_EXIT_CODE
    assert supervisor.restart_requested() == ["control"]
    assert supervisor.children["control"].pid != first_pid
    assert supervisor.wait_ready([f"{url}/readyz"], timeout=60) is None
    with logged_in(url) as client:  # the same port, a fresh process
        assert client.get("/api/monitoring/health").status_code == 200
    assert supervisor.restart_requested() == []
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'control.restart'") == 1
