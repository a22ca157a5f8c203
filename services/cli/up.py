"""`omniroute up`: everything on one machine.

Migrate, then start the demo upstream, control plane, edge and worker as child processes; wait
until edge and control are ready; make sure the demo provider and a demo key exist; print where
everything is. SIGINT/SIGTERM stop every child within 10 s; if one child dies, all are stopped,
except that a control process exiting with RESTART_EXIT_CODE (POST /api/restart) is started again
and one exiting 0 (POST /api/shutdown) stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from services.cli.demo import DEMO_KEY_FILE, DemoSeeder
from services.cli.local_stack import EdgeSpec, LocalStack, StackLayout
from services.cli.secrets_file import SECRETS_FILE
from shared.settings import Settings

__all__ = ["run_up"]

_READY_TIMEOUT_SECONDS = 90.0


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
    env = dict(os.environ)
    env["OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS"] = "true"  # the demo provider lives on loopback
    stack = LocalStack(
        StackLayout(
            log_dir=settings.data_dir / "logs",
            control_port=settings.control_port,
            worker_port=settings.worker_port,
            fake_upstream_port=settings.fake_upstream_port,
            edges=(EdgeSpec(settings.edge_port, settings.edge_workers),),
            env=env,
        )
    )
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        try:
            stack.start(ready_timeout=_READY_TIMEOUT_SECONDS)
        except RuntimeError as exc:
            print(f"omniroute up: {exc}", file=sys.stderr)
            return 1
        edge = stack.edge_urls[0]
        model = DemoSeeder(settings, stack.control_url, edge).ensure_demo(settings.data_dir / DEMO_KEY_FILE)
        print(_banner(settings, settings.data_dir / DEMO_KEY_FILE, model), flush=True)
        while not stopping:
            for name in stack.supervisor.restart_requested():
                print(f"omniroute up: {name} asked to be restarted (POST /api/restart); restarted it", flush=True)
            dead = stack.supervisor.dead()
            if dead == "control" and stack.supervisor.children[dead].returncode == 0:
                print("omniroute up: control was shut down (POST /api/shutdown); stopping everything", flush=True)
                return 0
            if dead:
                print(
                    f"omniroute up: {dead} exited; stopping everything (see {stack.layout.log_dir.resolve()})",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.2)
        return 0
    finally:
        stack.stop()
