"""Failed attempts: what each upstream outcome does to shared state, and the one error when all fail."""

from __future__ import annotations

import pytest

from services.edge.dispatch.attempts import Attempt, effect_of, exhausted, retry_hint_ms, same_target_retry
from shared.canonical.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unprocessable,
    UpstreamError,
    UpstreamTimeout,
)
from shared.formats.upstream_errors import classify

FALLBACK = "X-OmniRoute-Fallback-Attempts"


def tried(error: GatewayError, connection: str = "main", provider: str = "openai", model: str = "gpt-4o") -> Attempt:
    return Attempt(
        provider,
        model,
        connection,
        error.code,
        status=error.status,
        message=error.message,
        retry_in_ms=retry_hint_ms(error) or 0,
        error=error,
    )


def skipped(reason: str, retry_in_ms: int = 0, connection: str | None = "main", provider: str = "openai") -> Attempt:
    return Attempt(provider, "gpt-4o", connection, reason, retry_in_ms=retry_in_ms, tried=False)


# --- effect_of: one classification per upstream outcome ---------------------------------------


@pytest.mark.parametrize(
    ("status", "effect"),
    [
        (500, "breaker"),
        (502, "breaker"),
        (503, "breaker"),
        (504, "breaker"),
        (408, "breaker"),
        (429, "cooldown"),
        (401, "auth"),
        (403, "auth"),
        (404, "none"),
        (400, "none"),
        (413, "none"),
        (422, "none"),
        (409, "none"),
    ],
)
def test_effect_of_each_upstream_status(status: int, effect: str) -> None:
    assert effect_of(classify(status, {}, "upstream said no")) == effect


@pytest.mark.parametrize(
    ("error", "effect"),
    [
        (UpstreamError("x", code="upstream_unreachable"), "breaker"),
        (UpstreamError("x", code="upstream_connection_error"), "breaker"),
        (UpstreamTimeout("x", code="upstream_first_byte_timeout"), "breaker"),
        (UpstreamTimeout("x"), "breaker"),
        # after the first byte: silence or a broken stream is the provider's failure too
        (UpstreamTimeout("x", code="upstream_idle_timeout"), "breaker"),
        (UpstreamError("x", code="stream_interrupted"), "breaker"),
        (UpstreamError("x", code="upstream_auth_error"), "auth"),
        (RateLimited("upstream 429"), "cooldown"),
        # our own limits (a key's or every target's) are not the connection's fault
        (RateLimited("key limit", fallback_allowed=False), "none"),
        (UpstreamError("x", code="all_targets_failed"), "none"),
        (UpstreamTimeout("x", code="deadline_exceeded"), "none"),
        (ServiceUnavailable("x", code="no_target_available"), "none"),
        (NotFound("x", code="model_not_found", fallback_allowed=True), "none"),
        (BadRequest("x"), "none"),
        (PayloadTooLarge("x"), "none"),
        (Unprocessable("x"), "none"),
        (GatewayError("x"), "none"),
    ],
)
def test_effect_of_each_error_class(error: GatewayError, effect: str) -> None:
    assert effect_of(error) == effect


def test_fallback_and_stop_follow_the_classification() -> None:
    """5xx, 408, 429, 401/403 and 404 move on; the caller's own 400/413/422 stop the request."""
    for status in (500, 503, 408, 429, 401, 403, 404):
        assert classify(status, {}, None).fallback_allowed, status
    for status in (400, 413, 422):
        assert not classify(status, {}, None).fallback_allowed, status


def test_only_5xx_and_408_are_retried_on_the_same_target() -> None:
    assert same_target_retry(classify(500, {}, None))
    assert same_target_retry(classify(503, {}, None))
    assert same_target_retry(classify(408, {}, None))
    assert not same_target_retry(classify(429, {}, None))
    assert not same_target_retry(classify(401, {}, None))
    assert not same_target_retry(classify(404, {}, None))
    assert not same_target_retry(UpstreamTimeout("x", code="upstream_first_byte_timeout"))
    assert not same_target_retry(UpstreamError("x", code="upstream_unreachable"))


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({"retry-after": "2"}, 2_000),
        ({"retry-after": "0.4"}, 400),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1_500),
        ({"x-ratelimit-reset-requests": "6m0s"}, 360_000),
        ({"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1.5s"}, 1_500),
        ({}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
    ],
)
def test_the_upstreams_wait_hint_survives_classification(headers: dict[str, str], hint: int | None) -> None:
    assert retry_hint_ms(classify(429, headers, None)) == hint


def test_retry_hint_of_gateway_headers() -> None:
    assert retry_hint_ms(GatewayError("x", headers={"Retry-After": "3"})) == 3_000
    assert retry_hint_ms(GatewayError("x", headers={"retry-after-ms": "-5"})) == 0
    assert retry_hint_ms(GatewayError("x", headers={"retry-after-ms": "soon"})) is None


# --- exhausted: the one error for a request whose every target failed -------------------------


def test_a_single_target_returns_its_own_error() -> None:
    error = classify(503, {}, None)
    result = exhausted([tried(error)])
    assert result is error
    assert result.status == 502 and result.code == "upstream_error"
    assert result.headers[FALLBACK] == "1"


def test_a_single_target_retried_returns_its_last_error_counting_both_tries() -> None:
    first, last = classify(500, {}, None), classify(429, {"retry-after": "4"}, "slow down")
    result = exhausted([tried(first), tried(last)])
    assert result is last
    assert result.headers == {"Retry-After": "4", "retry-after-ms": "4000", FALLBACK: "2"}


def test_all_rate_limited_is_a_429_with_the_shortest_wait() -> None:
    attempts = [
        tried(classify(429, {"retry-after-ms": "2500"}, None), "one"),
        tried(classify(429, {"retry-after-ms": "1200"}, None), "two"),
        skipped("cooldown", 4_000, "three"),
        skipped("connection_limited", 30_000, "four"),
    ]
    result = exhausted(attempts)
    assert isinstance(result, RateLimited)
    assert result.status == 429 and result.code == "rate_limit_exceeded"
    assert not result.fallback_allowed
    assert result.headers["Retry-After"] == "2"  # ceil(1.2 s)
    assert result.headers["retry-after-ms"] == "1200"
    assert result.headers[FALLBACK] == "2"  # tried, not skipped
    assert result.message.startswith("Every target is rate limited or cooling down: ")
    assert "3) openai/gpt-4o via 'three': skipped (cooldown for 4s)" in result.message


def test_a_wait_below_one_second_is_still_a_retry_after_of_one() -> None:
    result = exhausted([skipped("cooldown", 1, "a"), skipped("cooldown", 999, "b")])
    assert result.status == 429
    assert result.headers == {"Retry-After": "1", "retry-after-ms": "1"}  # nothing tried: no fallback header


def test_all_skipped_by_open_breakers_is_a_503_no_target_available() -> None:
    attempts = [
        skipped("breaker_open", 12_300, None, "openai"),
        skipped("breaker_open", 45_000, None, "groq"),
    ]
    result = exhausted(attempts)
    assert isinstance(result, ServiceUnavailable)
    assert result.status == 503 and result.code == "no_target_available"
    assert result.headers == {"Retry-After": "13", "retry-after-ms": "12300"}
    assert "1) openai/gpt-4o: skipped (breaker_open for 12.3s)" in result.message
    assert "2) groq/gpt-4o: skipped (breaker_open for 45s)" in result.message


def test_skips_without_a_wait_give_no_retry_after() -> None:
    result = exhausted([skipped("no_connection", 0, None), skipped("breaker_open", 0, None, "groq")])
    assert result.status == 503
    assert "Retry-After" not in result.headers
    assert "skipped (no_connection)" in result.message


def test_all_timeouts_is_a_504() -> None:
    attempts = [
        tried(UpstreamTimeout("no first byte", code="upstream_first_byte_timeout"), "a"),
        tried(classify(408, {}, None), "b"),
    ]
    result = exhausted(attempts)
    assert isinstance(result, UpstreamTimeout)
    assert result.status == 504 and result.code == "all_targets_failed"
    assert result.message.startswith("Every target timed out: ")
    assert result.headers == {FALLBACK: "2"}


def test_mixed_failures_are_a_502_listing_every_attempt() -> None:
    attempts = [
        tried(classify(503, {}, None), "alpha"),
        skipped("cooldown", 1_500, "beta"),
        tried(classify(404, {}, "no such model"), "gamma", model="gpt-x"),
        tried(UpstreamTimeout("no first byte", code="upstream_first_byte_timeout"), "delta", provider="groq"),
        skipped("breaker_open", 0, None, "anthropic"),
    ]
    result = exhausted(attempts)
    assert isinstance(result, UpstreamError)
    assert result.status == 502 and result.code == "all_targets_failed"
    assert not result.fallback_allowed
    assert result.headers == {FALLBACK: "3"}
    assert result.message == (
        "All 5 targets failed: "
        "1) openai/gpt-4o via 'alpha': 502 upstream_error (The upstream provider failed (HTTP 503).); "
        "2) openai/gpt-4o via 'beta': skipped (cooldown for 1.5s); "
        "3) openai/gpt-x via 'gamma': 404 model_not_found (no such model); "
        "4) groq/gpt-4o via 'delta': 504 upstream_first_byte_timeout (no first byte); "
        "5) anthropic/gpt-4o: skipped (breaker_open)"
    )


def test_the_deadline_wins_over_everything_else() -> None:
    single = exhausted([tried(classify(500, {}, None))], deadline_hit=True)
    assert isinstance(single, UpstreamTimeout)
    assert single.status == 504 and single.code == "deadline_exceeded"
    assert single.message.startswith("The request deadline passed after 1 attempt(s): 1) openai/gpt-4o")
    assert single.headers == {FALLBACK: "1"}
    limited = exhausted([tried(classify(429, {"retry-after": "1"}, None), "a"), skipped("cooldown", 500, "b")], True)
    assert limited.code == "deadline_exceeded"
    assert not limited.fallback_allowed


def test_the_listing_is_capped() -> None:
    attempts = [tried(classify(500, {}, None), f"connection-{i:03}-" + "x" * 40) for i in range(60)]
    result = exhausted(attempts)
    listing = result.message.removeprefix("All 60 targets failed: ")
    assert len(listing) == 1800
    assert listing.endswith("…")
    assert result.headers[FALLBACK] == "60"


def test_the_fallback_header_is_absent_when_nothing_was_tried() -> None:
    assert FALLBACK not in exhausted([skipped("breaker_open", 1_000, None)]).headers
