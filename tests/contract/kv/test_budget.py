"""Budget contract: reserve-then-settle against the twin and real Redis."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from shared.budget_period import window
from shared.kv import keys
from shared.kv.budget import Budgets
from tests.contract.kv.conftest import KvEnv

K = "key-1"
LEASE = 60_000


async def test_reserve_admits_within_the_limit_and_refuses_beyond(kv: KvEnv) -> None:
    budgets = Budgets(kv.redis)
    first = await kv.run(lambda b: budgets.reserve(b, K, "r1", 600, 1_000, "daily", LEASE))
    assert first.done and first.spent == 0 and first.reserved == 600
    second = await kv.run(lambda b: budgets.reserve(b, K, "r2", 500, 1_000, "daily", LEASE))
    assert not second.done and second.reserved == 600
    third = await kv.run(lambda b: budgets.reserve(b, K, "r3", 400, 1_000, "daily", LEASE))
    assert third.done and third.reserved == 1_000


async def test_settle_releases_the_estimate_and_counts_the_real_cost_once(kv: KvEnv) -> None:
    budgets = Budgets(kv.redis)
    await kv.run(lambda b: budgets.reserve(b, K, "r1", 600, 1_000, "daily", LEASE))
    settled = await kv.run(lambda b: budgets.settle(b, K, "r1", 250, "daily"))
    assert settled.done and settled.spent == 250 and settled.reserved == 0
    again = await kv.run(lambda b: budgets.settle(b, K, "r1", 250, "daily"))
    assert not again.done and again.spent == 250
    refused = await kv.run(lambda b: budgets.reserve(b, K, "r2", 800, 1_000, "daily", LEASE))
    assert not refused.done
    failed = await kv.run(lambda b: budgets.reserve(b, K, "r3", 700, 1_000, "daily", LEASE))
    assert failed.done
    zero = await kv.run(lambda b: budgets.settle(b, K, "r3", 0, "daily"))
    assert zero.spent == 250 and zero.reserved == 0


async def test_reserving_one_request_id_twice_holds_it_once(kv: KvEnv) -> None:
    budgets = Budgets(kv.redis)
    await kv.run(lambda b: budgets.reserve(b, K, "r1", 600, 1_000, "daily", LEASE))
    again = await kv.run(lambda b: budgets.reserve(b, K, "r1", 600, 1_000, "daily", LEASE))
    assert again.done and again.reserved == 600


async def test_an_expired_lease_gives_its_reservation_back_and_a_late_settle_still_counts(kv: KvEnv) -> None:
    budgets = Budgets(kv.redis)
    await kv.run(lambda b: budgets.reserve(b, K, "crashed", 900, 1_000, "daily", 150))
    assert not (await kv.run(lambda b: budgets.reserve(b, K, "r2", 500, 1_000, "daily", LEASE))).done
    await kv.advance(250)
    view = await kv.run(lambda b: budgets.status(b, K, "daily"))
    assert view.reserved == 0
    late = await kv.run(lambda b: budgets.settle(b, K, "crashed", 300, "daily"))
    assert late.done and late.spent == 300 and late.reserved == 0
    assert not (await kv.run(lambda b: budgets.settle(b, K, "crashed", 300, "daily"))).done


async def test_status_reports_the_utc_calendar_window(kv: KvEnv) -> None:
    budgets = Budgets(kv.redis)
    now = kv.store.now_ms() if kv.store is not None else int(time.time() * 1000)
    for period in ("daily", "weekly", "monthly"):
        view = await kv.run(lambda b, p=period: budgets.status(b, K + p, p))  # type: ignore[misc]
        assert (view.start_ms, view.end_ms) == window(now, period)
        assert view.spent == 0 and view.reserved == 0


async def test_reconcile_raises_spent_to_the_recorded_amount_and_never_lowers_it(kv: KvEnv) -> None:
    budgets = Budgets(kv.redis)
    start = (await kv.run(lambda b: budgets.status(b, K, "monthly"))).start_ms
    rebuilt = await kv.run(lambda b: budgets.reconcile(b, K, "monthly", start, 700))
    assert rebuilt.done and rebuilt.spent == 700
    again = await kv.run(lambda b: budgets.reconcile(b, K, "monthly", start, 700))
    assert again.spent == 700
    lower = await kv.run(lambda b: budgets.reconcile(b, K, "monthly", start, 100))
    assert lower.spent == 700
    stale = await kv.run(lambda b: budgets.reconcile(b, K, "monthly", start - 1, 5_000))
    assert not stale.done and stale.spent == 700


async def test_state_expires_a_day_after_its_period(kv: KvEnv) -> None:
    budgets = Budgets(kv.redis)
    view = await kv.run(lambda b: budgets.reserve(b, K, "r1", 10, 1_000, "daily", LEASE))
    ttl = await kv.ttl_ms(keys.budget(K))
    now = kv.store.now_ms() if kv.store is not None else int(time.time() * 1000)
    assert kv.near(ttl, view.end_ms - now + 86_400_000, below=False)


def test_negative_amounts_are_refused() -> None:
    budgets = Budgets(None)
    with pytest.raises(ValueError, match="negative"):
        budgets.reserve(None, K, "r", -1, 10, "daily", LEASE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("moment", "period", "start", "end"),
    [
        ("2024-02-29T23:59:59", "monthly", "2024-02-01", "2024-03-01"),
        ("2023-02-10T00:00:00", "monthly", "2023-02-01", "2023-03-01"),
        ("2026-12-31T12:00:00", "monthly", "2026-12-01", "2027-01-01"),
        ("2026-11-26T00:28:00", "weekly", "2026-11-23", "2026-11-30"),
        ("2026-11-23T00:00:00", "weekly", "2026-11-23", "2026-11-30"),
        ("2026-11-22T23:59:59", "weekly", "2026-11-16", "2026-11-23"),
        ("2026-11-26T10:00:00", "daily", "2026-11-26", "2026-11-27"),
    ],
)
def test_windows_follow_the_utc_calendar(moment: str, period: str, start: str, end: str) -> None:
    def ms(text: str) -> int:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)

    assert window(ms(moment), period) == (ms(start), ms(end))


async def test_the_scripts_window_matches_the_python_one_across_years(real_redis: object) -> None:
    """The Lua calendar arithmetic, run with a given `now` instead of Redis's clock."""
    from redis.asyncio import Redis

    from shared.kv.budget import _PRELUDE
    from shared.kv.scripting import NOW_MS

    assert isinstance(real_redis, Redis)
    source = _PRELUDE.replace(NOW_MS, "\nlocal now = tonumber(ARGV[1])\n") + "\nreturn {window(ARGV[2])}\n"
    day = 86_400_000
    moments = [
        int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000) + i * 7 * day + i * 3_600_000
        for i in range(0, 2000, 13)
    ]
    for moment in moments:
        for period in ("daily", "weekly", "monthly"):
            got = await real_redis.eval(source, 2, "a", "b", moment, period)  # type: ignore[misc]
            assert tuple(int(v) for v in got) == window(moment, period), (moment, period)
