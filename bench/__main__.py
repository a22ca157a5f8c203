"""`python -m bench`: start a pinned stack, measure DIRECT and EDGE, write the results, clean up."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import uvloop

from bench import probes
from bench.client import STREAM_BODY_BYTES, Target, chat_body
from bench.report import machine_facts, markdown, write_json
from bench.scenarios import PACED_DIRECTIVE, STREAM_DIRECTIVE, Plan, Runner
from bench.stack import BenchStack, Pinning, StackOptions

_SETTLE_S = 5.0
_ROLES = {"edge": "edge-0", "fake_upstream": "fake-upstream", "control": "control", "worker": "worker"}


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--edge-workers", type=int, default=1, help="Granian workers for the edge (default 1)")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per run (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each run (default 2)")
    parser.add_argument("--concurrency", type=_ints, default=(1, 16, 64), help="closed-loop levels (1,16,64)")
    parser.add_argument("--rates", type=_ints, default=(200, 500), help="open-loop rates per second (200,500)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's logs after a good run")
    return parser


def _body_sizes() -> dict[str, int]:
    sizes = {}
    for target, model in (("direct", "gpt-4o-mini"), ("edge", "openai/gpt-4o-mini")):
        sizes[target] = len(chat_body(model))
        sizes[f"{target}_paced_stream"] = len(chat_body(model, True, PACED_DIRECTIVE, STREAM_BODY_BYTES))
    return sizes


def _on_sigterm(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt


def _mib(pids: list[int]) -> float:
    return round(sum(probes.rss_by_process(pids).values()) / 2**20, 1)


def _measure(stack: BenchStack, plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every scenario, plus the edge's RSS idle at start, right after the load and after a pause."""
    targets = {
        "direct": Target("direct", f"{stack.upstream_url}/v1/chat/completions", "gpt-4o-mini"),
        "edge": Target(
            "edge",
            f"{stack.edge_url}/v1/chat/completions",
            "openai/gpt-4o-mini",
            {"Authorization": f"Bearer {stack.api_key}"},
        ),
    }

    def trees() -> dict[str, list[int]]:
        found = {role: probes.descendants(stack.pid_of(child)) for role, child in _ROLES.items()}
        system = {"redis": probes.pids_named("redis-server"), "postgres": probes.pids_named("postgres")}
        return found | {"load_generator": [os.getpid()]} | system

    edge_tree = trees()["edge"]
    per_process = [round(value / 2**20, 1) for value in probes.rss_by_process(edge_tree).values()]
    rss: dict[str, Any] = {"idle": _mib(edge_tree), "edge_processes": len(edge_tree), "idle_by_process": per_process}
    runner = Runner(plan, targets, stack.edge_url, trees)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop:
        results = loop.run(runner.run_all())
    rss["after_load"] = _mib(trees()["edge"])
    time.sleep(_SETTLE_S)
    rss |= {"after_settle": _mib(trees()["edge"]), "settle_s": _SETTLE_S}
    return results, rss


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = datetime.now(UTC)
    clock = time.monotonic()
    pinning = Pinning(None, None) if args.no_pin else Pinning.for_machine()
    if pinning.support is not None:
        os.sched_setaffinity(0, pinning.support)  # the load generator shares a core with the support processes
    signal.signal(signal.SIGTERM, _on_sigterm)
    plan = Plan(warmup=args.warmup, duration=args.duration, concurrency=args.concurrency, rates=args.rates)
    stack = BenchStack(StackOptions(edge_workers=args.edge_workers, pinning=pinning, keep_logs=args.keep_logs))
    failed = True
    try:
        print("bench: starting a fresh stack ...", flush=True)
        stack.start()
        results, rss = _measure(stack, plan)
        failed = False
    except KeyboardInterrupt:
        print("bench: interrupted; stopping the stack", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close(failed)
    document = {
        "started_utc": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed_s": round(time.monotonic() - clock, 1),
        "machine": machine_facts(),
        "settings": {
            "edge_workers": args.edge_workers,
            "fake_upstream_workers": 1,
            "pinning": pinning.describe(),
            "warmup_s": plan.warmup,
            "duration_s": plan.duration,
            "body_bytes": _body_sizes(),
            "stream_directive": STREAM_DIRECTIVE,
            "paced_directive": PACED_DIRECTIVE,
            "load_generator": "one Python process, aiohttp client on uvloop, one session per target",
        },
        "edge_rss_mib": rss,
        "results": results,
    }
    path = write_json(document, started)
    print(markdown(document))
    print(f"\nbench: results written to {path} ({document['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
