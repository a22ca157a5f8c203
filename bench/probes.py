"""What the benchmark observes besides latency: /proc (CPU, RSS, process trees) and the edge's metrics."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "CpuSnapshot",
    "bucket_quantile",
    "descendants",
    "histogram_buckets",
    "pids_named",
    "process_cpu_seconds",
    "rss_by_process",
]

_PROC = Path("/proc")
_CPUCLOCK_SCHED = 2
OVERHEAD_METRIC = "omniroute_gateway_overhead_seconds"


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat fields after the command name (field 3 onwards), or None if it is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """`root` and every process below it (by walking parent ids in /proc)."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return sorted(found)


def process_cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time of these processes (all threads), from each one's POSIX CPU clock.

    Exact (scheduler runtime, ns), unlike /proc/<pid>/stat's tick-sampled utime/stime, which
    misattributes timer-driven work such as the open-loop sender.
    """
    total = 0.0
    for pid in pids:
        try:
            total += time.clock_gettime(((~pid) << 3) | _CPUCLOCK_SCHED)  # MAKE_PROCESS_CPUCLOCK(pid, SCHED)
        except OSError:
            continue  # gone
    return total


def pids_named(*names: str) -> list[int]:
    """Processes whose command name (comm) starts with one of `names`, e.g. the system Redis."""
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(names):
            found.append(int(entry.name))
    return found


def rss_by_process(pids: Iterable[int]) -> dict[int, int]:
    """VmRSS in bytes per live process."""
    out: dict[int, int] = {}
    for pid in pids:
        try:
            lines = (_PROC / str(pid) / "status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("VmRSS:"):
                out[pid] = int(line.split()[1]) * 1024
    return out


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """Busy and total jiffies per CPU, from /proc/stat (tick-sampled: indicative only)."""

    busy: tuple[int, ...]
    total: tuple[int, ...]

    @classmethod
    def take(cls) -> CpuSnapshot:
        busy: list[int] = []
        total: list[int] = []
        for line in (_PROC / "stat").read_text().splitlines():
            name, *values = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            numbers = [int(v) for v in values]
            idle = numbers[3] + numbers[4]  # idle + iowait
            all_time = sum(numbers[:8])  # guest time is already inside user/nice
            busy.append(all_time - idle)
            total.append(all_time)
        return cls(tuple(busy), tuple(total))

    def busy_percent_since(self, earlier: CpuSnapshot) -> list[float]:
        out = []
        for b1, t1, b0, t0 in zip(self.busy, self.total, earlier.busy, earlier.total, strict=True):
            out.append(round(100.0 * (b1 - b0) / (t1 - t0), 1) if t1 > t0 else 0.0)
        return out


def histogram_buckets(text: str, name: str = OVERHEAD_METRIC) -> dict[float, float]:
    """Cumulative bucket counts of one histogram, summed over its label sets, keyed by `le`."""
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                bound = float(sample.labels["le"])
                out[bound] = out.get(bound, 0.0) + sample.value
    return out


def bucket_quantile(after: Mapping[float, float], before: Mapping[float, float], q: float) -> float | None:
    """Upper bound (s) of the bucket holding quantile q of the observations made between two scrapes."""
    delta = sorted((bound, count - before.get(bound, 0.0)) for bound, count in after.items())
    if not delta or delta[-1][1] <= 0:
        return None
    wanted = q * delta[-1][1]
    for bound, cumulative in delta:
        if cumulative >= wanted:
            return bound
    return math.inf
