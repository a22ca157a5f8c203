"""Exact percentiles over all samples (sorted lists, nearest-rank), reported in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["PERCENTILES", "diff", "percentile", "summarize"]

PERCENTILES = (50.0, 90.0, 99.0)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence; NaN when it is empty."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(seconds * 1000.0, 3)


def summarize(values: Iterable[float], percentiles: Sequence[float] = PERCENTILES) -> dict[str, float | None]:
    """{"n", "p50", "p90", "p99", "max", "mean"} with times in ms (None when there are no samples)."""
    ordered = sorted(values)
    out: dict[str, float | None] = {"n": len(ordered)}
    for q in percentiles:
        out[f"p{q:g}"] = _ms(percentile(ordered, q))
    out["max"] = _ms(ordered[-1]) if ordered else None
    out["mean"] = _ms(math.fsum(ordered) / len(ordered)) if ordered else None
    return out


def diff(edge: dict[str, float | None], direct: dict[str, float | None]) -> dict[str, float | None]:
    """EDGE − DIRECT for every time field both sides have (the overhead), in ms."""
    out: dict[str, float | None] = {}
    for name, value in edge.items():
        if name == "n":
            continue
        other = direct.get(name)
        out[name] = None if value is None or other is None else round(value - other, 3)
    return out
