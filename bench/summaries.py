"""Turning a Run into the figures the report shows (all times in ms)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.drivers import Run, Sample
from bench.stats import diff, summarize

__all__ = ["json_summary", "overhead", "paced_summary", "stream_summary", "sustained"]


def _errors(samples: list[Sample]) -> dict[str, Any]:
    kinds = Counter(s.outcome.error for s in samples if s.outcome.error)
    return {"errors": sum(kinds.values()), "error_kinds": dict(kinds)}


def _ok(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if not s.outcome.error]


def _base(run: Run) -> tuple[list[Sample], dict[str, Any]]:
    measured = run.measured()
    figures: dict[str, Any] = {
        "requests": len(measured),
        "throughput_per_s": round(run.throughput(), 1),
        "window_s": round(run.duration, 3),
    }
    figures.update(_errors(measured))
    return measured, figures


def json_summary(run: Run, open_loop: bool = False) -> dict[str, Any]:
    measured, figures = _base(run)
    ok = _ok(measured)
    figures["latency_ms"] = summarize(s.end - s.start for s in ok)
    if open_loop:
        figures["send_lag_ms"] = summarize(s.sent - s.start for s in measured)
    latencies = [s.end - s.start for s in ok]
    figures["near_40ms_fraction"] = round(sum(1 for v in latencies if 0.038 <= v <= 0.044) / max(1, len(ok)), 4)
    return figures


def stream_summary(run: Run) -> dict[str, Any]:
    measured, figures = _base(run)
    ok = _ok(measured)
    figures["ttfb_ms"] = summarize(s.outcome.first_byte - s.start for s in ok if s.outcome.first_byte is not None)
    figures["total_ms"] = summarize(s.end - s.start for s in ok)
    figures["done_failures"] = sum(1 for s in measured if s.outcome.error and "[DONE]" in s.outcome.error)
    return figures


def paced_summary(run: Run) -> dict[str, Any]:
    figures = stream_summary(run)
    ok = _ok(run.measured())
    figures["ttft_ms"] = summarize(s.outcome.first_token - s.start for s in ok if s.outcome.first_token is not None)
    gaps = [gap for s in ok for gap in (s.outcome.gaps or ())]
    figures["chunk_gap_ms"] = summarize(gaps)
    return figures


def overhead(edge: dict[str, Any], direct: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """EDGE − DIRECT for each latency field both summaries have."""
    return {name: diff(edge[name], direct[name]) for name in fields if name in edge and name in direct}


def sustained(figures: dict[str, Any], rate: float) -> tuple[bool, str]:
    """Did DIRECT keep up with an open-loop rate? (≥ 95 % achieved, ≤ 0.1 % errors, p99 ≤ 50 ms)."""
    achieved = figures["throughput_per_s"]
    requests = max(1, figures["requests"])
    p99 = figures["latency_ms"].get("p99")
    if achieved < 0.95 * rate:
        return False, f"direct achieved only {achieved:.0f}/s of {rate:.0f}/s"
    if figures["errors"] > 0.001 * requests:
        return False, f"direct had {figures['errors']} errors"
    if p99 is None or p99 > 50.0:
        return False, f"direct p99 was {p99} ms"
    return True, ""
