"""The limits in force for an API key or a connection, named as the limiter stores them."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from shared.config.limits import DAY_MS, MINUTE_MS, NamedLimit, connection_limits, key_limits, scaled
from shared.config.resilience import KeyLimits
from shared.config.snapshot import ConnectionConfig, KeyConfig
from shared.kv import keys
from shared.kv.ratelimit import Rate

KEY_ID = "0b6f1c2e-8d7a-4c55-9a3e-2f0d1e4b7c10"


def key(**limits: int | None) -> KeyConfig:
    return KeyConfig(id=KEY_ID, name="k", key_hash="ab" * 32, **limits)  # type: ignore[arg-type]


def summary(limits: list[NamedLimit]) -> list[tuple[str, str, str, int, int]]:
    return [(limit.name, limit.unit, limit.window, limit.rate.limit, limit.rate.period_ms) for limit in limits]


def test_a_keys_own_limits() -> None:
    own = key(max_requests_per_minute=60, max_requests_per_day=5_000, max_tokens_per_minute=90_000)
    assert summary(key_limits(own, KeyLimits())) == [
        (f"k:{{{KEY_ID}}}:rpm", "requests", "minute", 60, MINUTE_MS),
        (f"k:{{{KEY_ID}}}:rpd", "requests", "day", 5_000, DAY_MS),
        (f"k:{{{KEY_ID}}}:tpm", "tokens", "minute", 90_000, MINUTE_MS),
    ]


def test_the_keys_values_win_over_the_defaults_kind_by_kind() -> None:
    defaults = KeyLimits(
        requests_per_minute=100, requests_per_day=10_000, tokens_per_minute=50_000, tokens_per_day=2_000_000
    )
    limits = key_limits(key(max_requests_per_minute=7), defaults)
    assert summary(limits) == [
        (f"k:{{{KEY_ID}}}:rpm", "requests", "minute", 7, MINUTE_MS),
        (f"k:{{{KEY_ID}}}:rpd", "requests", "day", 10_000, DAY_MS),
        (f"k:{{{KEY_ID}}}:tpm", "tokens", "minute", 50_000, MINUTE_MS),
        (f"k:{{{KEY_ID}}}:tpd", "tokens", "day", 2_000_000, DAY_MS),
    ]


def test_defaults_alone_and_nothing_at_all() -> None:
    assert [limit.name for limit in key_limits(key(), KeyLimits(requests_per_day=3))] == [f"k:{{{KEY_ID}}}:rpd"]
    assert key_limits(key(), KeyLimits()) == []


def test_zero_or_negative_means_no_limit() -> None:
    assert key_limits(key(), KeyLimits(requests_per_minute=0, tokens_per_day=-1)) == []
    assert connection_limits(ConnectionConfig(id="c", provider="openai", name="c", max_requests_per_minute=0)) == []


def test_a_connections_limits() -> None:
    connection = ConnectionConfig(
        id="conn-9",
        provider="openai",
        name="main",
        max_requests_per_minute=500,
        max_requests_per_day=20_000,
        max_tokens_per_minute=150_000,
        max_concurrent=4,  # a semaphore, not a rate: not among the named limits
    )
    assert summary(connection_limits(connection)) == [
        ("c:{conn-9}:rpm", "requests", "minute", 500, MINUTE_MS),
        ("c:{conn-9}:rpd", "requests", "day", 20_000, DAY_MS),
        ("c:{conn-9}:tpm", "tokens", "minute", 150_000, MINUTE_MS),
    ]
    assert connection_limits(ConnectionConfig(id="c", provider="openai", name="c", max_concurrent=2)) == []


def test_every_name_of_one_owner_lands_in_one_cluster_slot() -> None:
    """One consume over all of a key's limits touches a single Redis Cluster slot (hash tag)."""
    defaults = KeyLimits(requests_per_day=1, tokens_per_minute=1, tokens_per_day=1)
    names = [keys.ratelimit(limit.name) for limit in key_limits(key(max_requests_per_minute=1), defaults)]
    assert len(names) == 4
    assert all(f"{{{KEY_ID}}}" in name for name in names)
    assert len({key_slot(name.encode()) for name in names}) == 1
    connection = ConnectionConfig(
        id="conn-9", provider="openai", name="c", max_requests_per_minute=1, max_tokens_per_minute=1
    )
    slots = {key_slot(keys.ratelimit(limit.name).encode()) for limit in connection_limits(connection)}
    assert slots == {key_slot(b"conn-9")}


def test_keys_and_connections_never_share_a_name() -> None:
    same_id = "same-id"
    as_key = key_limits(KeyConfig(id=same_id, name="k", key_hash="00", max_requests_per_minute=1), KeyLimits())
    as_connection = connection_limits(
        ConnectionConfig(id=same_id, provider="openai", name="c", max_requests_per_minute=1)
    )
    assert as_key[0].name != as_connection[0].name


@pytest.mark.parametrize(
    ("limit", "divisor", "expected"),
    [
        (100, 2, 50),
        (101, 2, 50),
        (9, 4, 2),
        (3, 4, 1),  # floors at 1: an edge alone still admits something
        (1, 2, 1),
        (10, 1, 10),
        (10, 0, 10),
    ],
)
def test_scaled_share_while_redis_is_unreachable(limit: int, divisor: int, expected: int) -> None:
    original = NamedLimit("k:{x}:rpm", "requests", "minute", Rate(limit, MINUTE_MS))
    share = scaled(original, divisor)
    assert share.rate.limit == expected
    assert (share.name, share.unit, share.window, share.rate.period_ms) == (
        "k:{x}:rpm",
        "requests",
        "minute",
        MINUTE_MS,
    )


def test_a_divisor_of_one_returns_the_limit_itself() -> None:
    original = NamedLimit("c:{x}:tpm", "tokens", "minute", Rate(1_000, MINUTE_MS))
    assert scaled(original, 1) is original
