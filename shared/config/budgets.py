"""Per-API-key budgets as the snapshot carries them to every edge.

The control plane keeps them in Postgres (`api_key_budgets`) and ships them inside
`Snapshot.settings` under one reserved key, `apiKeyBudgets`: `{"<key id>": {"limitMicros": int,
"period": "daily" | "weekly" | "monthly"}}`. An older edge ignores the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from shared.budget_period import PERIODS

__all__ = ["BUDGETS_KEY", "KeyBudget", "key_budgets"]

BUDGETS_KEY = "apiKeyBudgets"


class KeyBudget(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    limit_micros: int
    period: str


def key_budgets(settings: Mapping[str, Any]) -> dict[str, KeyBudget]:
    """The budgets in a snapshot's settings; malformed entries are left out (never a crash on the edge)."""
    raw = settings.get(BUDGETS_KEY)
    if not isinstance(raw, dict):
        return {}
    found: dict[str, KeyBudget] = {}
    for key_id, entry in raw.items():
        try:
            budget = msgspec.convert(entry, KeyBudget)
        except msgspec.ValidationError:
            continue
        if budget.limit_micros > 0 and budget.period in PERIODS:
            found[str(key_id)] = budget
    return found
