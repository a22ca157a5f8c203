"""What a request may cost at most, reserved against its key's budget before it is sent.

Input tokens are estimated locally (shared/formats/estimate.py); output tokens are the request's
max tokens (after any policy cap), or a default when the caller set none. Each is priced at the
highest price among the route's targets, since admission does not yet know which one answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from shared.providers.spec import Price
from shared.routing.config import EdgeConfig
from shared.routing.route import Route, Step

__all__ = ["DEFAULT_OUTPUT_TOKENS", "highest_price", "reservation_micros"]

# Output tokens assumed for a request without max_tokens (most models' default answer fits).
DEFAULT_OUTPUT_TOKENS = 4096


def _steps(route: Route) -> Iterator[Step]:
    if isinstance(route, Step):
        yield route
        return
    for member in route.members:
        yield from _steps(member)


def highest_price(config: EdgeConfig, route: Route) -> Price | None:
    """The highest input and output price among the route's priced targets; None when none is priced."""
    prices = [
        price
        for step in _steps(route)
        for upstream in config.upstreams_of(step.provider)[:1]  # one provider's connections share its prices
        if (price := upstream.price(step.model)) is not None
    ]
    if not prices:
        return None
    return Price(max(p.input for p in prices), max(p.output for p in prices))


def reservation_micros(price: Price | None, input_tokens: int, max_tokens: int | None) -> int:
    """Micro-dollars to hold: (tokens x US dollars per million tokens) is exactly micro-dollars."""
    if price is None:
        return 0
    output = max_tokens if max_tokens is not None and max_tokens > 0 else DEFAULT_OUTPUT_TOKENS
    return math.ceil(input_tokens * price.input + output * price.output)
