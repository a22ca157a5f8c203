"""Limit decisions as the caller sees them: OpenAI-style reset durations and rate-limit headers, and the 429."""

from __future__ import annotations

import pytest

from services.edge.dispatch.limits import Decided, duration, limit_headers, refusal
from shared.config.limits import DAY_MS, MINUTE_MS, NamedLimit
from shared.formats.upstream_errors import retry_after_seconds
from shared.kv.ratelimit import LimitDecision, Rate


def decided(
    name: str,
    unit: str = "requests",
    *,
    limit: int = 60,
    remaining: int = 10,
    reset_ms: int = 5_000,
    retry_after_ms: int = 0,
    allowed: bool = True,
    window: str = "minute",
) -> Decided:
    period = MINUTE_MS if window == "minute" else DAY_MS
    named = NamedLimit(name, unit, window, Rate(limit, period))  # type: ignore[arg-type]
    return Decided(
        named,
        LimitDecision(
            allowed=allowed, limit=limit, remaining=remaining, reset_ms=reset_ms, retry_after_ms=retry_after_ms
        ),
    )


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0ms"),
        (17, "17ms"),
        (999, "999ms"),
        (1_000, "1s"),
        (1_500, "1.5s"),
        (1_001, "1.001s"),
        (59_999, "59.999s"),
        (60_000, "1m0s"),
        (360_000, "6m0s"),
        (90_500, "1m30.5s"),
        (3_600_000, "1h0m0s"),
        (3_723_250, "1h2m3.25s"),
        (DAY_MS, "24h0m0s"),
        (-40, "0ms"),
    ],
)
def test_duration_in_openais_reset_format(ms: int, text: str) -> None:
    assert duration(ms) == text


@pytest.mark.parametrize("ms", [17, 1_000, 1_500, 360_000, 3_723_250])
def test_durations_read_back_by_the_upstream_error_classifier(ms: int) -> None:
    """What the edge writes in x-ratelimit-reset-*, a client (or another gateway) reads back exactly."""
    assert retry_after_seconds({"x-ratelimit-reset-requests": duration(ms)}) == pytest.approx(ms / 1000)


def test_no_limits_no_headers() -> None:
    assert limit_headers([]) == {}


def test_headers_per_unit_from_the_tightest_limit() -> None:
    headers = limit_headers(
        [
            decided("k:{a}:rpm", remaining=50, reset_ms=2_000),
            decided("k:{a}:rpd", limit=1_000, remaining=3, reset_ms=3_600_000, window="day"),
            decided("k:{a}:tpm", "tokens", limit=40_000, remaining=39_000, reset_ms=1_500),
        ]
    )
    assert headers == {
        "x-ratelimit-limit-requests": "1000",
        "x-ratelimit-remaining-requests": "3",
        "x-ratelimit-reset-requests": "1h0m0s",
        "x-ratelimit-limit-tokens": "40000",
        "x-ratelimit-remaining-tokens": "39000",
        "x-ratelimit-reset-tokens": "1.5s",
    }


def test_a_refused_limit_is_the_tightest_whatever_its_remaining() -> None:
    headers = limit_headers(
        [
            decided("rpm", remaining=0, reset_ms=100),
            decided("rpd", limit=5, remaining=4, allowed=False, retry_after_ms=900, window="day"),
        ]
    )
    assert headers["x-ratelimit-limit-requests"] == "5"


def test_equal_remaining_picks_the_longer_reset() -> None:
    headers = limit_headers([decided("rpm", remaining=2, reset_ms=1_000), decided("rpd", remaining=2, reset_ms=9_000)])
    assert headers["x-ratelimit-reset-requests"] == "9s"


def test_negative_remaining_is_shown_as_zero() -> None:
    assert limit_headers([decided("tpm", "tokens", remaining=-20)])["x-ratelimit-remaining-tokens"] == "0"


def test_no_refusal_when_every_limit_admits() -> None:
    assert refusal([decided("rpm"), decided("tpm", "tokens")], "API key") is None
    assert refusal([], "API key") is None


@pytest.mark.parametrize(
    ("wait_ms", "retry_after"),
    [(1, "1"), (999, "1"), (1_000, "1"), (1_001, "2"), (29_870, "30"), (60_000, "60")],
)
def test_refusal_rounds_retry_after_up(wait_ms: int, retry_after: str) -> None:
    refused = refusal([decided("rpm", remaining=0, allowed=False, retry_after_ms=wait_ms)], "API key")
    assert refused is not None
    assert refused.headers["Retry-After"] == retry_after
    assert refused.headers["retry-after-ms"] == str(wait_ms)


def test_refusal_waits_for_the_slowest_refused_limit_and_names_it() -> None:
    refused = refusal(
        [
            decided("rpm", limit=60, remaining=0, allowed=False, retry_after_ms=1_000),
            decided("tpm", "tokens", limit=1_000, remaining=0, allowed=False, retry_after_ms=12_500),
            decided("rpd", limit=500, remaining=100, window="day"),
        ],
        "connection",
    )
    assert refused is not None
    assert refused.status == 429 and refused.code == "rate_limit_exceeded"
    assert refused.retryable and not refused.fallback_allowed
    assert refused.headers["Retry-After"] == "13"
    assert refused.headers["retry-after-ms"] == "12500"
    assert refused.headers["x-ratelimit-limit-requests"] == "60"  # the refused requests limit
    assert refused.headers["x-ratelimit-limit-tokens"] == "1000"
    assert "x-should-retry" not in refused.headers
    assert refused.message == ("Rate limit reached for this connection: 1000 tokens per minute. Try again in 12.5s.")


def test_a_request_that_can_never_fit_is_not_to_be_retried() -> None:
    refused = refusal(
        [
            decided("tpm", "tokens", limit=1_000, remaining=1_000, allowed=False, retry_after_ms=-1),
            decided("rpm", remaining=0, allowed=False, retry_after_ms=4_000),
        ],
        "API key",
    )
    assert refused is not None
    assert refused.status == 429
    assert refused.headers["x-should-retry"] == "false"
    assert "Retry-After" not in refused.headers
    assert "retry-after-ms" not in refused.headers
    assert not refused.retryable and not refused.fallback_allowed
    assert "exceeds the API key limit of 1000 tokens per minute" in refused.message
    assert "never" in refused.message
