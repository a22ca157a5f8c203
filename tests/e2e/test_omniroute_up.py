"""`omniroute up` as an operator runs it: ready, demo works with the printed key, stops within 10 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import redis

from tests.support.db import drop_database
from tests.support.env import database_url, free_port, redis_url

DATABASE = "omniroute_e2e_up"
REDIS_DB = 10


def run_cli(args: list[str], env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_up_runs_everything_and_stops_cleanly(tmp_path: Path) -> None:
    import asyncio

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
    try:
        banner = ""
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        while "Ctrl-C stops everything." not in banner:
            line = process.stdout.readline()
            assert line or process.poll() is None, f"up exited early:\n{banner}"
            banner += line
            assert time.monotonic() < deadline, banner
        edge = f"http://127.0.0.1:{ports['EDGE']}"
        assert edge in banner
        assert f"http://127.0.0.1:{ports['CONTROL']}" in banner
        secrets = tmp_path / "data" / "secrets.env"
        assert str(secrets) in banner
        assert "INITIAL_PASSWORD=" in secrets.read_text()
        assert oct(secrets.stat().st_mode & 0o777) == "0o600"
        key = (tmp_path / "data" / "demo-api-key").read_text().strip()
        assert key not in banner  # the banner points at the file, it does not print the key

        # The first request the banner suggests works, through the official SDK too.
        sdk = openai.OpenAI(base_url=f"{edge}/v1", api_key=key, max_retries=0)
        answer = sdk.chat.completions.create(model="demo/gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}])
        assert answer.choices[0].message.content == "Hello! You said: Hello"
        for base in (edge, f"http://127.0.0.1:{ports['CONTROL']}", f"http://127.0.0.1:{ports['WORKER']}"):
            assert httpx.get(f"{base}/readyz").status_code == 200

        stop_started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert time.monotonic() - stop_started < 10
        assert process.returncode == 0
        for port in ports.values():
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            except httpx.TransportError:
                continue
            raise AssertionError(f"something still answers on port {port}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        asyncio.run(drop_database(DATABASE))


def test_bad_configuration_stops_with_a_message_naming_the_variable(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "OMNIROUTE_DATA_DIR": str(tmp_path), "OMNIROUTE_EDGE_PORT": "seventy"}
    result = run_cli(["migrate"], env)
    assert result.returncode == 2
    assert "OMNIROUTE_EDGE_PORT" in result.stderr
    production = {"PATH": os.environ["PATH"], "OMNIROUTE_ENV": "production", "OMNIROUTE_DATA_DIR": str(tmp_path)}
    result = run_cli(["edge"], production)
    assert result.returncode == 2
    assert "STORAGE_ENCRYPTION_KEY" in result.stderr
