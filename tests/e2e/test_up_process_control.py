"""Under `omniroute up`: POST /api/restart brings a fresh control process back; POST /api/shutdown stops the stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from tests.support.auth import login_sync
from tests.support.db import drop_database
from tests.support.env import database_url, free_port, redis_url

DATABASE = "omniroute_e2e_up_process"
REDIS_DB = 6


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while marker not in seen:
        line = process.stdout.readline()
        assert line or process.poll() is None, f"up exited early:\n{seen}"
        seen += line
        assert time.monotonic() < deadline, seen
    return seen


@contextmanager
def admin_client(control: str, data_dir: Path) -> Iterator[httpx.Client]:
    lines = (data_dir / "secrets.env").read_text().splitlines()
    secrets = dict(line.split("=", 1) for line in lines if "=" in line)
    with httpx.Client(base_url=control, timeout=10) as client:
        login_sync(client, secrets["INITIAL_PASSWORD"])
        yield client


def test_restart_then_shutdown_through_the_api(tmp_path: Path) -> None:
    asyncio.run(drop_database(DATABASE))
    redis.Redis.from_url(redis_url(REDIS_DB)).flushdb()
    ports = {name: free_port() for name in ("EDGE", "CONTROL", "WORKER", "FAKE_UPSTREAM")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIROUTE_", "INITIAL_", "STORAGE_", "JWT_"))}
    env.update(
        DATABASE_URL=database_url(DATABASE),
        REDIS_URL=redis_url(REDIS_DB),
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_EDGE_WORKERS="1",
        **{f"OMNIROUTE_{name}_PORT": str(port) for name, port in ports.items()},
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    control = f"http://127.0.0.1:{ports['CONTROL']}"
    try:
        read_until(process, "Ctrl-C stops everything.", 90)
        with admin_client(control, tmp_path / "data") as client:
            first = client.post("/api/restart")
            assert first.status_code == 202, first.text
        read_until(process, "asked to be restarted", 30)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{control}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "control never came back"
            time.sleep(0.2)
        with admin_client(control, tmp_path / "data") as client:
            health = client.get("/api/monitoring/health").json()
            assert health["edges"]["liveCount"] >= 1
            second = client.post("/api/shutdown")
            assert second.status_code == 202, second.text
            assert second.json()["serverPid"] != first.json()["serverPid"]
        process.wait(timeout=30)
        assert process.returncode == 0
        for port in ports.values():
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            except httpx.TransportError:
                continue
            raise AssertionError(f"something still answers on port {port}")
    finally:
        if process.poll() is None:
            process.terminate()  # up stops its children; a SIGKILL would orphan them
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        asyncio.run(drop_database(DATABASE))
