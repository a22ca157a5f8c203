"""Child-process supervision for `omniroute up`, the end-to-end tests and the benchmark.

Each child is `python -m services.cli.main <args>` with its own environment and log file; the
supervisor waits for readiness URLs, notices a child that died, and stops everything with
SIGTERM then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from services.cli.http import get_status

__all__ = ["RESTART_EXIT_CODE", "ChildSpec", "Supervisor"]

# A child exiting with this code asks to be started again (`omniroute control` after POST
# /api/restart). 75 is EX_TEMPFAIL: "try again"; under Kubernetes any exit restarts the container.
RESTART_EXIT_CODE = 75


@dataclass(frozen=True, slots=True)
class ChildSpec:
    name: str
    args: tuple[str, ...]
    env: Mapping[str, str]
    cpus: frozenset[int] | None = None  # pin the child (and the processes it forks) to these CPUs


def _pin(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    if cpus is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


class Supervisor:
    def __init__(self, log_dir: Path, grace_seconds: float = 8.0) -> None:
        self.log_dir = log_dir
        self.grace_seconds = grace_seconds
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.specs: dict[str, ChildSpec] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, spec: ChildSpec) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{spec.name}.log").open("ab")
        child = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", *spec.args],
            env=dict(spec.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # signals to the supervisor's terminal do not hit children twice
            preexec_fn=_pin(spec.cpus),  # safe: the supervisor starts no threads
        )
        log.close()
        self.children[spec.name] = child
        self.specs[spec.name] = spec
        return child

    def dead(self) -> str | None:
        for name, child in self.children.items():
            if child.poll() is not None:
                return name
        return None

    def wait_ready(self, urls: list[str], timeout: float = 90.0) -> str | None:
        """None when every URL answers 200; otherwise the reason it did not happen."""
        deadline = time.monotonic() + timeout
        pending = list(urls)
        while pending:
            dead = self.dead()
            if dead:
                return f"{dead} exited during start-up (see {self.log_dir / (dead + '.log')})"
            pending = [url for url in pending if get_status(url, timeout=1.0) != 200]
            if pending and time.monotonic() > deadline:
                return f"not ready after {timeout:.0f} s: {', '.join(pending)}"
            if pending:
                time.sleep(0.1)
        return None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.children[name]
        if child.poll() is None:
            child.send_signal(sig)
        child.wait()

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(self.specs[name])

    def restart_requested(self) -> list[str]:
        """Start again every child that exited with RESTART_EXIT_CODE; returns their names."""
        restarted = []
        for name, child in list(self.children.items()):
            if child.poll() == RESTART_EXIT_CODE:
                self.restart(name)
                restarted.append(name)
        return restarted

    def stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
