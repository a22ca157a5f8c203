"""Cost of a request in integer micro-dollars, from token usage and a per-million price."""

from __future__ import annotations

from shared.canonical.usage import Usage
from shared.providers.spec import Price

__all__ = ["cost_micros", "format_usd"]


def cost_micros(usage: Usage, price: Price | None) -> int:
    """Cached input at the cached price, reasoning output at the reasoning price, the rest at list price."""
    if price is None or not usage.reported:
        return 0
    cached = min(usage.cached_tokens, usage.input_tokens)
    reasoning = min(usage.reasoning_tokens, usage.output_tokens)
    dollars_per_million = (
        (usage.input_tokens - cached) * price.input
        + cached * (price.cached if price.cached is not None else price.input)
        + (usage.output_tokens - reasoning) * price.output
        + reasoning * (price.reasoning if price.reasoning is not None else price.output)
    )
    return round(dollars_per_million)  # (tokens x $/1M tokens) is exactly micro-dollars


def format_usd(micros: int) -> str:
    return f"{micros / 1_000_000:.10f}"
