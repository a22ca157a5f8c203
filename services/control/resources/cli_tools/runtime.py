"""Is a CLI tool installed and runnable on this host: found on PATH, and `<tool> --version` succeeds.

The command name comes only from the fixed tool list (never from the request), is resolved with
`shutil.which`, and is run directly (no shell) with a short timeout, no stdin and a minimal
environment, so the control plane's secrets never reach a binary found on PATH.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["RuntimeMode", "RuntimeStatus", "probe", "runtime_mode"]

RuntimeMode = Literal["host", "container"]

_VERSION_TIMEOUT_SECONDS = 5.0
_MAX_VERSION_CHARS = 200
_MAX_OUTPUT_BYTES = 4096
_PASSED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@dataclass(frozen=True, slots=True)
class RuntimeStatus:
    installed: bool
    runnable: bool
    command: str
    command_path: str | None
    runtime_mode: RuntimeMode
    reason: str | None  # None when runnable; else not_found, not_executable, timeout, exit_status_<n>, spawn_error
    version: str | None  # first line of `--version`, when runnable


def runtime_mode() -> RuntimeMode:
    """Where the check runs: inside a container the tools found are the container's, not the user's."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") or Path("/.dockerenv").exists():
        return "container"
    return "host"


def _minimal_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _PASSED_VARIABLES if name in os.environ}


async def _version(path: str) -> tuple[bool, str | None, str | None]:
    """(runnable, reason, version)."""
    try:
        process = await asyncio.create_subprocess_exec(
            path,
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=_minimal_env(),
            start_new_session=True,  # a tool that forks cannot keep our process group busy
        )
    except OSError:
        return False, "spawn_error", None
    try:
        async with asyncio.timeout(_VERSION_TIMEOUT_SECONDS):
            assert process.stdout is not None
            output = await process.stdout.read(_MAX_OUTPUT_BYTES)  # a version is short; never buffer more
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the tool and anything it started
        await process.wait()
        return False, "timeout", None
    if process.returncode != 0:
        return False, f"exit_status_{process.returncode}", None
    lines = output.decode(errors="replace").strip().splitlines()
    return True, None, (lines[0][:_MAX_VERSION_CHARS] if lines else None)


async def probe(command: str) -> RuntimeStatus:
    mode = runtime_mode()
    path = shutil.which(command)
    if path is None:
        found = shutil.which(command, mode=os.F_OK)  # present on PATH but not executable?
        if found is not None:
            return RuntimeStatus(True, False, command, found, mode, "not_executable", None)
        return RuntimeStatus(False, False, command, None, mode, "not_found", None)
    runnable, reason, version = await _version(path)
    return RuntimeStatus(True, runnable, command, path, mode, reason, version)
