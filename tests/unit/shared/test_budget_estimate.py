"""The reservation a budgeted request holds, and the budgets a snapshot carries."""

from __future__ import annotations

from shared.budget_estimate import DEFAULT_OUTPUT_TOKENS, reservation_micros
from shared.config.budgets import BUDGETS_KEY, KeyBudget, key_budgets
from shared.providers.spec import Price


def test_tokens_times_dollars_per_million_are_micro_dollars_rounded_up() -> None:
    price = Price(2.5, 10.0)
    assert reservation_micros(price, 1_000, 100) == 2_500 + 1_000
    assert reservation_micros(Price(0.15, 0.6), 3, 1) == 2  # 0.45 + 0.6, rounded up


def test_without_max_tokens_the_default_output_is_reserved() -> None:
    assert reservation_micros(Price(0.0, 1.0), 0, None) == DEFAULT_OUTPUT_TOKENS
    assert reservation_micros(Price(0.0, 1.0), 0, 0) == DEFAULT_OUTPUT_TOKENS


def test_an_unpriced_model_reserves_nothing() -> None:
    assert reservation_micros(None, 10_000, 10_000) == 0


def test_malformed_budget_entries_are_left_out() -> None:
    settings = {
        BUDGETS_KEY: {
            "good": {"limitMicros": 5, "period": "weekly"},
            "zero": {"limitMicros": 0, "period": "weekly"},
            "yearly": {"limitMicros": 5, "period": "yearly"},
            "shape": {"limit": "x"},
        }
    }
    assert key_budgets(settings) == {"good": KeyBudget(limit_micros=5, period="weekly")}
    assert key_budgets({}) == {}
    assert key_budgets({BUDGETS_KEY: ["not", "a", "map"]}) == {}
