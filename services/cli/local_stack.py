"""A whole OmniRoute on one machine: fake upstream, control plane, one or more edges, a worker.

`omniroute up` runs one of these; the end-to-end tests and the benchmark run others on free
ports with their own database and Redis db, through exactly the same commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.cli.supervisor import ChildSpec, Supervisor

__all__ = ["EdgeSpec", "LocalStack", "StackLayout"]


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    port: int
    workers: int = 1
    cpus: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class StackLayout:
    log_dir: Path
    control_port: int
    worker_port: int
    fake_upstream_port: int
    edges: tuple[EdgeSpec, ...]
    fake_upstream_workers: int = 1
    with_worker: bool = True
    env: Mapping[str, str] = field(default_factory=dict)
    support_cpus: frozenset[int] | None = None  # where the fake upstream, control and worker run


class LocalStack:
    def __init__(self, layout: StackLayout) -> None:
        self.layout = layout
        self.supervisor = Supervisor(layout.log_dir)

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.control_port}"

    @property
    def edge_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{edge.port}" for edge in self.layout.edges]

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.worker_port}"

    @property
    def fake_upstream_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.fake_upstream_port}"

    def _env(self) -> dict[str, str]:
        env = dict(self.layout.env)
        env.update(
            OMNIROUTE_CONTROL_PORT=str(self.layout.control_port),
            OMNIROUTE_WORKER_PORT=str(self.layout.worker_port),
            OMNIROUTE_FAKE_UPSTREAM_PORT=str(self.layout.fake_upstream_port),
        )
        return env

    def start(self, ready_timeout: float = 90.0) -> None:
        """Start every process and wait until all are ready; raises RuntimeError saying why not."""
        env = self._env()
        layout = self.layout
        fake_args = ("fake-upstream", "--workers", str(layout.fake_upstream_workers))
        support = layout.support_cpus
        self.supervisor.start(ChildSpec("fake-upstream", fake_args, env, support))
        self.supervisor.start(ChildSpec("control", ("control",), env, support))
        for index, edge in enumerate(layout.edges):
            args = ("edge", "--port", str(edge.port), "--workers", str(edge.workers))
            self.supervisor.start(ChildSpec(f"edge-{index}", args, env, edge.cpus))
        urls = [f"{self.control_url}/readyz", *(f"{url}/readyz" for url in self.edge_urls)]
        urls.append(f"{self.fake_upstream_url}/healthz")
        if layout.with_worker:
            self.supervisor.start(ChildSpec("worker", ("worker",), env, support))
            urls.append(f"{self.worker_url}/readyz")
        problem = self.supervisor.wait_ready(urls, timeout=ready_timeout)
        if problem:
            self.stop()
            raise RuntimeError(problem)

    def stop(self) -> None:
        self.supervisor.stop_all()
