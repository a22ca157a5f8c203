"""Budget periods: UTC calendar windows (a day, an ISO week starting Monday, a month).

The edge's Lua scripts compute the same windows on Redis time (shared/kv/budget.py); this is the
Python side for the twin, the control plane's status and the reconciliation worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

__all__ = ["PERIODS", "Period", "window"]

Period = Literal["daily", "weekly", "monthly"]
PERIODS: tuple[str, ...] = get_args(Period)

_DAY_MS = 86_400_000


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def window(now_ms: int, period: str) -> tuple[int, int]:
    """[start, end) in epoch ms of the period holding `now_ms`."""
    day = now_ms // _DAY_MS
    if period == "daily":
        return day * _DAY_MS, (day + 1) * _DAY_MS
    if period == "weekly":
        start = day - (day + 3) % 7  # 1970-01-01 was a Thursday
        return start * _DAY_MS, (start + 7) * _DAY_MS
    if period == "monthly":
        first = datetime.fromtimestamp(day * 86_400, UTC).replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return _ms(first), _ms(following)
    raise ValueError(f"unknown budget period {period!r}")
