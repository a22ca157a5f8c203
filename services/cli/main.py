"""`omniroute`: the one console script (up, edge, control, worker, migrate, fake-upstream).

This module is the composition root: it starts each service, so it is the one place allowed to
name several of them (see docs/decisions/0002-cli-composition-root.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from services.cli.secrets_file import apply_secrets_file
from services.cli.supervisor import RESTART_EXIT_CODE
from shared.logs import granian_log_config
from shared.settings import Settings, SettingsError, load_settings

__all__ = ["main"]


def _metrics_dir(settings: Settings, name: str) -> None:
    """Fresh multiprocess metrics dir for this service; must be set before workers import prometheus."""
    path = settings.data_dir / "metrics" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path.resolve())


def _serve(target: str, service: str, settings: Settings, port: int, workers: int) -> None:
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        target,
        factory=True,
        address=settings.host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        log_level=LogLevels.warning,
        log_dictconfig=granian_log_config(service),
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=8,
        backlog=2048,
    ).serve()


def cmd_edge(settings: Settings, args: argparse.Namespace) -> int:
    settings.require("STORAGE_ENCRYPTION_KEY")
    port = args.port or settings.edge_port
    _metrics_dir(settings, f"edge-{port}")
    os.environ["OMNIROUTE_EDGE_PORT"] = str(port)  # the workers' settings name the port they serve
    _serve("services.edge.app:create_app", "edge", settings, port, args.workers or settings.edge_workers)
    return 0


def cmd_control(settings: Settings, args: argparse.Namespace) -> int:
    from services.control.resources.process.server import RESTART_SIGNAL, SERVER_PID_VARIABLE

    settings.require("STORAGE_ENCRYPTION_KEY", "JWT_SECRET")
    port = args.port or settings.control_port
    _metrics_dir(settings, f"control-{port}")
    # POST /api/shutdown sends this process SIGTERM (Granian drains and returns, exit 0); POST
    # /api/restart sends RESTART_SIGNAL: the same drain, then the exit code supervisors restart.
    restart = False

    def on_restart(signum: int, _: object) -> None:
        nonlocal restart
        restart = True
        os.kill(os.getpid(), signal.SIGTERM)

    os.environ[SERVER_PID_VARIABLE] = str(os.getpid())
    signal.signal(RESTART_SIGNAL, on_restart)
    _serve("services.control.app:create_app", "control", settings, port, args.workers or settings.control_workers)
    return RESTART_EXIT_CODE if restart else 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from services.workers.main import run

    run(settings)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from services.control.db.migrate import migrate

    applied = asyncio.run(migrate(settings.database_url))
    print(f"migrations applied: {', '.join(f'{v:04d}' for v in applied) or 'none (up to date)'}")
    return 0


def cmd_fake_upstream(settings: Settings, args: argparse.Namespace) -> int:
    from services.fake_upstream.server import serve

    serve(settings.host, args.port or settings.fake_upstream_port, args.workers or 1)
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from services.cli.up import run_up

    return run_up(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omniroute", description="OmniRoute AI gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="migrate, then run control, edge, worker and the demo upstream together")
    for name, help_text in (
        ("edge", "serve client traffic (/v1) on OMNIROUTE_EDGE_PORT"),
        ("control", "serve the management API (/api) on OMNIROUTE_CONTROL_PORT"),
        ("fake-upstream", "serve the scripted fake provider on OMNIROUTE_FAKE_UPSTREAM_PORT"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--port", type=int, default=None)
        command.add_argument("--workers", type=int, default=None)
    sub.add_parser("worker", help="run the arq worker (usage ingest and jobs)")
    sub.add_parser("migrate", help="create the database if missing and apply pending migrations")
    return parser


_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "up": cmd_up,
    "edge": cmd_edge,
    "control": cmd_control,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "fake-upstream": cmd_fake_upstream,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        data_dir = Path(os.environ.get("OMNIROUTE_DATA_DIR") or ".omniroute")
        apply_secrets_file(data_dir, os.environ, generate=args.command == "up")
        settings = load_settings()
        return _COMMANDS[args.command](settings, args)
    except SettingsError as exc:
        print(f"omniroute: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
