"""The measurement plan: every scenario against DIRECT then EDGE, with CPU and metrics probes."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench import probes
from bench.client import STREAM_BODY_BYTES, Target, chat_body, open_session, post_json, post_stream
from bench.drivers import Call, Run, closed_loop, gc_paused, open_loop
from bench.summaries import json_summary, overhead, paced_summary, stream_summary, sustained

__all__ = ["Plan", "Runner"]

STREAM_DIRECTIVE = "[[fake words=64]]"
PACED_DIRECTIVE = "[[fake words=64 chunk_delay_ms=20]]"
_SETTLE_S = 1.0
_PACED_STREAM_S = 67 * 0.020  # events after the first (role, 64 words, finish, usage, [DONE]) × pacing


def _bucket_bounds(after: dict[float, float], before: dict[float, float]) -> dict[str, float | None]:
    """p50/p99 of the edge's omniroute_gateway_overhead_seconds between two scrapes, as bucket upper bounds (ms)."""
    p50, p99 = (probes.bucket_quantile(after, before, q) for q in (0.5, 0.99))
    return {"p50_le": None if p50 is None else p50 * 1000, "p99_le": None if p99 is None else p99 * 1000}


@dataclass(frozen=True, slots=True)
class Plan:
    warmup: float = 2.0
    duration: float = 8.0
    concurrency: tuple[int, ...] = (1, 16, 64)
    rates: tuple[int, ...] = (200, 500)
    stream_concurrency: tuple[int, ...] = (1, 16)
    paced_concurrency: int = 16


class Runner:
    """Holds the two targets and their sessions; `run_all()` returns every figure for the report."""

    def __init__(self, plan: Plan, targets: dict[str, Target], edge_url: str, pids: Callable[[], dict[str, list[int]]]):
        self.plan = plan
        self.targets = targets
        self.edge_url = edge_url
        self.pids = pids  # process trees by role, read fresh at each probe
        self.sessions: dict[str, aiohttp.ClientSession] = {}

    def call(self, target: Target, kind: str) -> Call:
        session = self.sessions[target.name]
        if kind == "json":
            body = chat_body(target.model)
            return lambda: post_json(session, target, body)
        directive = PACED_DIRECTIVE if kind == "paced" else STREAM_DIRECTIVE
        body = chat_body(target.model, stream=True, directive=directive, size=STREAM_BODY_BYTES)
        return lambda: post_stream(session, target, body, with_gaps=kind == "paced")

    async def scrape(self) -> dict[float, float]:
        async with self.sessions["edge"].get(f"{self.edge_url}/metrics") as response:
            return probes.histogram_buckets(await response.text())

    async def probed(self, target: Target, drive: Callable[[], Awaitable[Run]]) -> tuple[Run, dict[str, Any]]:
        """Run one measurement and record CPU use per core and per role, and the edge's own histogram."""
        before_hist = await self.scrape() if target.name == "edge" else {}
        trees = self.pids()
        cpu_before = {role: probes.process_cpu_seconds(pids) for role, pids in trees.items()}
        cores_before = probes.CpuSnapshot.take()
        with gc_paused():
            began = time.perf_counter()
            run = await drive()
            wall = time.perf_counter() - began
        cores = probes.CpuSnapshot.take().busy_percent_since(cores_before)
        requests = max(1, len(run.samples))
        used = {role: probes.process_cpu_seconds(pids) - cpu_before[role] for role, pids in trees.items()}
        resources: dict[str, Any] = {
            "wall_s": round(wall, 3),
            "cpu_busy_percent_by_core_proc_stat": cores,
            "cpu_percent_of_one_core_by_role": {role: round(100 * value / wall, 1) for role, value in used.items()},
            "cpu_seconds_by_role": {role: round(value, 3) for role, value in used.items()},
            "cpu_us_per_request_by_role": {role: round(value / requests * 1e6) for role, value in used.items()},
            "requests_including_warmup": len(run.samples),
        }
        if target.name == "edge":
            resources["edge_reported_overhead_bucket_ms"] = _bucket_bounds(await self.scrape(), before_hist)
        return run, resources

    async def pair(
        self, kind: str, drive: Callable[[Call], Awaitable[Run]], summarize: Callable[[Run], dict[str, Any]]
    ) -> dict[str, Any]:
        """DIRECT then EDGE for one scenario; figures, resources and EDGE − DIRECT."""
        out: dict[str, Any] = {}
        for name in ("direct", "edge"):
            call = self.call(self.targets[name], kind)
            run, resources = await self.probed(self.targets[name], functools.partial(drive, call))
            out[name] = summarize(run) | {"resources": resources}
            await asyncio.sleep(_SETTLE_S)
        return out

    def closed(self, concurrency: int, stagger: float = 0.0) -> Callable[[Call], Awaitable[Run]]:
        return lambda call: closed_loop(call, concurrency, self.plan.warmup, self.plan.duration, stagger)

    async def run_all(self) -> dict[str, Any]:
        self.sessions = {name: open_session() for name in self.targets}
        try:
            await self.preflight()
            first_hist = await self.scrape()
            results: dict[str, Any] = {"closed_loop": [], "open_loop": [], "streaming": []}
            for c in self.plan.concurrency:
                print(f"bench: closed loop, concurrency {c}", flush=True)
                pair = await self.pair("json", self.closed(c), json_summary)
                gap = overhead(pair["edge"], pair["direct"], ("latency_ms",))
                results["closed_loop"].append({"concurrency": c, **pair, "overhead_ms": gap})
            for rate in self.plan.rates:
                results["open_loop"].append(await self.open_rate(rate))
            for c in self.plan.stream_concurrency:
                print(f"bench: streaming, concurrency {c}", flush=True)
                pair = await self.pair("stream", self.closed(c), stream_summary)
                gap = overhead(pair["edge"], pair["direct"], ("ttfb_ms", "total_ms"))
                results["streaming"].append({"concurrency": c, **pair, "overhead_ms": gap})
            c = self.plan.paced_concurrency
            print(f"bench: paced streaming (20 ms between chunks), concurrency {c}", flush=True)
            pair = await self.pair("paced", self.closed(c, stagger=_PACED_STREAM_S), paced_summary)
            gap = overhead(pair["edge"], pair["direct"], ("ttfb_ms", "ttft_ms", "chunk_gap_ms", "total_ms"))
            results["paced_streaming"] = {"concurrency": c, **pair, "overhead_ms": gap}
            results["edge_reported_overhead_all_runs_bucket_ms"] = _bucket_bounds(await self.scrape(), first_hist)
            return results
        finally:
            for session in self.sessions.values():
                await session.close()

    async def open_rate(self, rate: int) -> dict[str, Any]:
        plan = self.plan
        print(f"bench: open loop, {rate} requests/s", flush=True)

        def drive(call: Call) -> Awaitable[Run]:
            return open_loop(call, rate, plan.warmup, plan.duration)

        direct_target, edge_target = self.targets["direct"], self.targets["edge"]
        direct_run, resources = await self.probed(direct_target, lambda: drive(self.call(direct_target, "json")))
        direct = json_summary(direct_run, open_loop=True) | {"resources": resources}
        await asyncio.sleep(_SETTLE_S)
        ok, reason = sustained(direct, rate)
        if not ok:
            print(f"bench: skipping {rate}/s: {reason}", flush=True)
            return {"rate": rate, "skipped": reason, "direct": direct}
        edge_run, resources = await self.probed(edge_target, lambda: drive(self.call(edge_target, "json")))
        edge = json_summary(edge_run, open_loop=True) | {"resources": resources}
        await asyncio.sleep(_SETTLE_S)
        return {"rate": rate, "direct": direct, "edge": edge, "overhead_ms": overhead(edge, direct, ("latency_ms",))}

    async def preflight(self) -> None:
        """One request of each kind per target, so a broken setup fails in seconds with a reason."""
        for target in self.targets.values():
            for kind in ("json", "stream"):
                outcome = await self.call(target, kind)()
                if outcome.error:
                    raise RuntimeError(
                        f"preflight {kind} request to {target.name} ({target.url}) failed: {outcome.error}"
                    )
