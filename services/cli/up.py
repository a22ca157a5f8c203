"""`omniroute up`: everything on one machine.

Migrate, then start the demo upstream, control plane, edge and worker as child processes; wait
until edge and control are ready; make sure the demo provider and a demo key exist; print where
everything is. SIGINT/SIGTERM stop every child within 10 s; if one child dies, all are stopped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from services.cli.demo import DEMO_KEY_FILE, DemoSeeder
from services.cli.http import get_status
from services.cli.secrets_file import SECRETS_FILE
from shared.settings import Settings

__all__ = ["run_up"]

_STOP_GRACE_SECONDS = 8.0
_READY_TIMEOUT_SECONDS = 90.0


def _spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    for child in children.values():
        remaining = max(0.0, deadline - time.monotonic())
        try:
            child.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _dead(children: dict[str, subprocess.Popen[bytes]]) -> str | None:
    for name, child in children.items():
        if child.poll() is not None:
            return name
    return None


def _wait_ready(children: dict[str, subprocess.Popen[bytes]], urls: list[str]) -> str | None:
    """None when every URL answers 200; otherwise why not."""
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    pending = list(urls)
    while pending:
        dead = _dead(children)
        if dead:
            return f"{dead} exited during start-up"
        pending = [url for url in pending if get_status(url) != 200]
        if pending and time.monotonic() > deadline:
            return f"not ready after {_READY_TIMEOUT_SECONDS:.0f} s: {', '.join(pending)}"
        if pending:
            time.sleep(0.25)
    return None


def _banner(settings: Settings, key_path: Path, model: str) -> str:
    edge = f"http://127.0.0.1:{settings.edge_port}"
    control = f"http://127.0.0.1:{settings.control_port}"
    secrets_path = (settings.data_dir / SECRETS_FILE).resolve()
    curl = (
        f'curl -s {edge}/v1/chat/completions -H "Authorization: Bearer $(cat {key_path.resolve()})" '
        f"-H 'content-type: application/json' "
        f'-d \'{{"model":"{model}","messages":[{{"role":"user","content":"Hello"}}]}}\''
    )
    return "\n".join(
        [
            "",
            "OmniRoute is up.",
            f"  edge (client API, /v1)      {edge}",
            f"  control (management, /api)  {control}   (OpenAPI: {control}/api/openapi.json)",
            f"  worker metrics              http://127.0.0.1:{settings.worker_port}/metrics",
            f"  demo upstream (fake)        http://127.0.0.1:{settings.fake_upstream_port}",
            f"  admin password and secrets  {secrets_path} (INITIAL_PASSWORD; login: POST {control}/api/auth/login)",
            f"  demo API key                {key_path.resolve()}",
            f"  logs                        {(settings.data_dir / 'logs').resolve()}",
            "",
            "Try it:",
            f"  {curl}",
            "",
            "Ctrl-C stops everything.",
        ]
    )


def run_up(settings: Settings) -> int:
    from services.control.db.migrate import migrate

    settings.require("STORAGE_ENCRYPTION_KEY", "JWT_SECRET", "INITIAL_PASSWORD")
    print(f"migrating {settings.database_url.rsplit('@', 1)[-1]} ...", flush=True)
    asyncio.run(migrate(settings.database_url))
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS"] = "true"  # the demo provider lives on loopback
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        children["fake-upstream"] = _spawn("fake-upstream", ["fake-upstream"], env, log_dir)
        children["control"] = _spawn("control", ["control"], env, log_dir)
        children["edge"] = _spawn("edge", ["edge"], env, log_dir)
        children["worker"] = _spawn("worker", ["worker"], env, log_dir)
        control = f"http://127.0.0.1:{settings.control_port}"
        edge = f"http://127.0.0.1:{settings.edge_port}"
        problem = _wait_ready(
            children, [f"{control}/readyz", f"{edge}/readyz", f"http://127.0.0.1:{settings.worker_port}/readyz"]
        )
        if problem:
            print(f"omniroute up: {problem}; see {log_dir.resolve()}", file=sys.stderr)
            return 1
        seeder = DemoSeeder(settings, control, edge)
        model = seeder.ensure_demo(settings.data_dir / DEMO_KEY_FILE)
        print(_banner(settings, settings.data_dir / DEMO_KEY_FILE, model), flush=True)
        while not stopping:
            dead = _dead(children)
            if dead:
                print(f"omniroute up: {dead} exited; stopping everything (see {log_dir.resolve()})", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        _stop(children)
