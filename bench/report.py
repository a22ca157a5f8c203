"""Machine facts, the JSON results file and the markdown summary."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Iterable
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["machine_facts", "markdown", "write_json"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_CORE0_ROLES = ("fake_upstream", "control", "worker", "load_generator")
_PACKAGES = ("litestar", "granian", "aiohttp", "redis", "uvloop", "msgspec", "orjson", "prometheus-client")


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty.strip() else "")


def machine_facts() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    memory = _first("/proc/meminfo", "MemTotal")
    return {
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "cpu_count": os.cpu_count(),
        "memory_total": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": _git_commit(),
    }


def write_json(document: dict[str, Any], started: datetime) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return path


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    names = list(header)
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---:" for _ in names) + "|"]
    lines.extend("| " + " | ".join(_f(cell) for cell in row) + " |" for row in rows)
    return [*lines, ""]


def _cpu(figures: dict[str, Any], role: str) -> Any:
    return figures["resources"]["cpu_us_per_request_by_role"].get(role)


def _closed_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for entry in results["closed_loop"]:
        for name in ("direct", "edge"):
            f = entry[name]
            lat = f["latency_ms"]
            rows.append([entry["concurrency"], name, f["throughput_per_s"], lat["p50"], lat["p90"], lat["p99"]])
            rows[-1].extend([lat["max"], f["errors"], _cpu(f, "edge")])
        gap = entry["overhead_ms"]["latency_ms"]
        rows.append([entry["concurrency"], "**edge − direct**", "", gap["p50"], gap["p90"], gap["p99"], "", "", ""])
    return rows


def _open_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for entry in results["open_loop"]:
        for name in ("direct", "edge"):
            f = entry.get(name)
            if f is None:
                rows.append([entry["rate"], name, f"skipped: {entry['skipped']}", "", "", "", "", ""])
                continue
            lat = f["latency_ms"]
            rows.append([entry["rate"], name, f["throughput_per_s"], lat["p50"], lat["p99"], lat["max"]])
            rows[-1].extend([f["errors"], f["send_lag_ms"]["p99"]])
        if "overhead_ms" in entry:
            gap = entry["overhead_ms"]["latency_ms"]
            rows.append([entry["rate"], "**edge − direct**", "", gap["p50"], gap["p99"], "", "", ""])
    return rows


def _stream_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for entry in results["streaming"]:
        for name in ("direct", "edge"):
            f = entry[name]
            ttfb, total = f["ttfb_ms"], f["total_ms"]
            rows.append([entry["concurrency"], name, f["throughput_per_s"], ttfb["p50"], ttfb["p99"]])
            rows[-1].extend([total["p50"], total["p99"], f["errors"], f["done_failures"]])
        gap = entry["overhead_ms"]
        rows.append([entry["concurrency"], "**edge − direct**", "", gap["ttfb_ms"]["p50"], gap["ttfb_ms"]["p99"]])
        rows[-1].extend([gap["total_ms"]["p50"], gap["total_ms"]["p99"], "", ""])
    return rows


def _paced_rows(entry: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    names = ("ttfb_ms", "ttft_ms", "chunk_gap_ms", "total_ms")
    for name in ("direct", "edge"):
        f = entry[name]
        row: list[Any] = [name, f["throughput_per_s"]]
        for field in names:
            row.extend([f[field]["p50"], f[field]["p99"]])
        rows.append([*row, f["errors"]])
    gap = entry["overhead_ms"]
    row = ["**edge − direct**", ""]
    for field in names:
        row.extend([gap[field]["p50"], gap[field]["p99"]])
    rows.append([*row, ""])
    return rows


def _cpu_rows(results: dict[str, Any]) -> list[list[Any]]:
    labelled: list[tuple[str, dict[str, Any]]] = []
    labelled += [(f"closed c={e['concurrency']}", e) for e in results["closed_loop"]]
    labelled += [(f"open {e['rate']}/s", e) for e in results["open_loop"]]
    labelled += [(f"stream c={e['concurrency']}", e) for e in results["streaming"]]
    labelled.append((f"paced c={results['paced_streaming']['concurrency']}", results["paced_streaming"]))
    rows: list[list[Any]] = []
    for label, entry in labelled:
        for name in ("direct", "edge"):
            f = entry.get(name)
            if f is None:
                continue
            res = f["resources"]
            share = res["cpu_percent_of_one_core_by_role"]
            core0 = sum(share[role] for role in _CORE0_ROLES)
            reported = res.get("edge_reported_overhead_bucket_ms", {})
            rows.append([label, name, share["edge"], round(core0, 1), share["fake_upstream"], share["load_generator"]])
            rows[-1].extend([share["worker"], share["redis"], share["postgres"], _cpu(f, "edge")])
            rows[-1].extend([reported.get("p50_le"), reported.get("p99_le")])
    return rows


def markdown(document: dict[str, Any]) -> str:
    machine, settings, results = document["machine"], document["settings"], document["results"]
    lines = [
        f"## OmniRoute benchmark, {document['started_utc']}",
        "",
        f"{machine['cpu_model']}, {machine['cpu_count']} CPUs, {machine['memory_total']}, Python {machine['python']}; "
        f"edge workers {settings['edge_workers']}; pinning {settings['pinning']}; "
        f"warm-up {settings['warmup_s']} s, window {settings['duration_s']} s. Times in ms.",
        "",
        "### Non-streaming, closed loop",
        "",
    ]
    header = ["c", "target", "req/s", "p50", "p90", "p99", "max", "errors", "edge CPU µs/req"]
    lines += _table(header, _closed_rows(results))
    lines += ["### Non-streaming, open loop (latency from the scheduled send time)", ""]
    header = ["rate/s", "target", "achieved/s", "p50", "p99", "max", "errors", "send lag p99"]
    lines += _table(header, _open_rows(results))
    lines += ["### Streaming, 64 words, no pacing", ""]
    header = ["c", "target", "streams/s", "TTFB p50", "TTFB p99", "total p50", "total p99", "errors", "no [DONE]"]
    lines += _table(header, _stream_rows(results))
    lines += [f"### Streaming, 64 words, 20 ms pacing, c={results['paced_streaming']['concurrency']}", ""]
    header = ["target", "streams/s", "TTFB p50", "TTFB p99", "TTFT p50", "TTFT p99", "gap p50", "gap p99"]
    lines += _table([*header, "total p50", "total p99", "errors"], _paced_rows(results["paced_streaming"]))
    lines += ["### CPU use over each run (% of one core, exact per-process clocks)", ""]
    header = ["run", "target", "edge (CPU1)", "CPU0 total", "fake upstream", "load gen", "worker", "redis", "postgres"]
    header += ["edge CPU µs/req", "edge-reported overhead p50 ≤ ms", "p99 ≤ ms"]
    lines += _table(header, _cpu_rows(results))
    rss = document["edge_rss_mib"]
    whole = results["edge_reported_overhead_all_runs_bucket_ms"]
    lines.append(
        f"Edge-reported omniroute_gateway_overhead_seconds over all runs: p50 ≤ {whole['p50_le']} ms, "
        f"p99 ≤ {whole['p99_le']} ms (bucket upper bounds).\n"
    )
    lines.append(
        f"Edge RSS (whole process tree): idle {rss['idle']} MiB, right after the load {rss['after_load']} MiB, "
        f"{rss['settle_s']} s later {rss['after_settle']} MiB (idle, per process: {rss['idle_by_process']})."
    )
    return "\n".join(lines)
