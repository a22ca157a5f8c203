"""The API key's USD budget at the edge: what admission reserves, how a refusal reads, what settles it.

The reservation rides in the admission round trip and its settlement in the settlement round trip
(shared/kv/budget.py), so a budget costs no Redis round trip of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.canonical.errors import RateLimited
from shared.kv.batch import Batch, Slot
from shared.kv.budget import Budgets, BudgetView
from shared.pricing import format_usd

__all__ = ["LEASE_GRACE_MS", "BudgetHold", "budget_headers", "budget_refusal"]

# A reservation outlives the request's deadline by this much before a crashed edge's hold lapses.
LEASE_GRACE_MS = 60_000


@dataclass(frozen=True, slots=True)
class BudgetHold:
    """One request's reservation against its key's budget, in micro-dollars."""

    key_id: str
    request_id: str
    amount: int
    limit: int
    period: str
    lease_ms: int

    def reserve(self, budgets: Budgets, batch: Batch) -> Slot[BudgetView]:
        return budgets.reserve(batch, self.key_id, self.request_id, self.amount, self.limit, self.period, self.lease_ms)

    def settle(self, budgets: Budgets, batch: Batch, cost: int) -> Slot[BudgetView]:
        return budgets.settle(batch, self.key_id, self.request_id, cost, self.period)


def budget_headers(hold: BudgetHold, view: BudgetView) -> dict[str, str]:
    remaining = max(hold.limit - view.spent - view.reserved, 0)
    return {
        "x-omniroute-budget-limit": format_usd(hold.limit),
        "x-omniroute-budget-remaining": format_usd(remaining),
    }


def budget_refusal(hold: BudgetHold, view: BudgetView) -> RateLimited | None:
    """The 429 for a request its key's budget cannot hold (retrying will not help before the period ends)."""
    if view.done:
        return None
    headers = budget_headers(hold, view) | {"x-should-retry": "false"}
    return RateLimited(
        f"This API key's {hold.period} budget of ${hold.limit / 1_000_000:.2f} is spent or reserved "
        f"(spent ${view.spent / 1_000_000:.6f}, reserved ${view.reserved / 1_000_000:.6f}, this request "
        f"needs up to ${hold.amount / 1_000_000:.6f}).",
        code="budget_exceeded",
        retryable=False,
        fallback_allowed=False,
        headers=headers,
    )
