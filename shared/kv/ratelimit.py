"""GCRA rate limiting: one TAT (theoretical arrival time) per key, on Redis server time (reliability.md §3).

A rate of `limit` per `period_ms` has emission interval T = period_ms / limit and burst = limit:
a request of cost c is admitted when max(TAT, now) + c*T <= now + period_ms, and admission moves
the TAT there. A fresh key admits exactly `limit` at once; after that one unit comes back every T.
The key expires when its TAT passes (nothing to remember for a full bucket).

`consume` checks several keys (an RPM, an RPD and a TPM limit of one API key) in one script and
consumes all of them only if all admit. `charge` settles after the fact (tokens counted once the
answer is known): it moves the TAT unconditionally, past the burst if need be, so later requests
wait; a negative cost refunds (the TAT never goes back before now).

Precision: a TAT is stored as "base:offset", an integer epoch-ms base (the server's ms at the last
write) plus a fractional offset from it, and every decision is computed relative to the current
server millisecond. The arithmetic therefore runs on numbers of the size of a period, not of an
epoch (where a double's rounding is ~0.1 us per step and would add up over a burst of single
steps); the admission test allows a slack of min(T/2, 1 us) for what rounding remains, so it never
admits an extra unit and never admits anything measurably early.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import msgspec
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import Lua

__all__ = ["LimitDecision", "Rate", "RateLimiter", "admitted"]


class Rate(msgspec.Struct, frozen=True):
    limit: int
    period_ms: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_ms < 1:
            raise ValueError("a rate needs limit >= 1 and period_ms >= 1")


class LimitDecision(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    limit: int
    remaining: int  # units of cost 1 admissible right now (after this request when it was consumed)
    reset_ms: int  # until the bucket is full again
    retry_after_ms: int  # 0 when allowed; -1 when the cost exceeds the limit outright


def admitted(decisions: Sequence[LimitDecision]) -> bool:
    """Whether a `consume` went through (it consumes all items or none)."""
    return all(decision.allowed for decision in decisions)


# The decision for one item (shared by the three scripts). Times are ms relative to `base`, the
# server's current whole millisecond: `now` is the fraction past it.
# `decide(tat, limit, period, cost, consumed)` returns the decision row, the TAT after admission
# and whether it admits.
_DECIDE = """
local clock = redis.call('TIME')
local base = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local now = (tonumber(clock[2]) % 1000) / 1000
local function tat_of(key)
  local stored = redis.call('GET', key)
  if not stored then return now end
  local b, o = string.match(stored, '^(%d+):(.+)$')
  return math.max(tonumber(b) - base + tonumber(o), now)
end
local function decide(tat, limit, period, cost, consumed)
  local t = period / limit
  local slack = math.min(t / 2, 0.001)
  local new_tat = tat + cost * t
  local allowed = cost <= limit and new_tat - now <= period + slack
  local after = tat
  if allowed and consumed then after = new_tat end
  local remaining = math.max(math.floor((period + slack - (after - now)) / t), 0)
  local retry = 0
  if cost > limit then retry = -1 elseif not allowed then retry = math.ceil(new_tat - period - now) end
  return {allowed and 1 or 0, limit, remaining, math.ceil(after - now), retry}, new_tat, allowed
end
local function store(key, tat)
  if tat <= now then
    redis.call('DEL', key)
  else
    redis.call('SET', key, string.format('%.0f:%.17g', base, tat), 'PX', math.ceil(tat - now))
  end
end
"""

# KEYS: the limited keys. ARGV: limit, period, cost per key.
_CONSUME = (
    _DECIDE
    + """
local rows, tats, all = {}, {}, true
for i, key in ipairs(KEYS) do
  local limit, period, cost = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local row, new_tat, allowed = decide(tat_of(key), limit, period, cost, true)
  rows[i], tats[i], all = row, new_tat, all and allowed
end
if all then
  for i, key in ipairs(KEYS) do store(key, tats[i]) end
  return rows
end
for i, key in ipairs(KEYS) do
  local limit, period, cost = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  rows[i] = decide(tat_of(key), limit, period, cost, false)
end
return rows
"""
)

# KEYS: the key. ARGV: limit, period, cost (may be negative: a refund).
_CHARGE = (
    _DECIDE
    + """
store(KEYS[1], math.max(tat_of(KEYS[1]) + tonumber(ARGV[3]) * tonumber(ARGV[2]) / tonumber(ARGV[1]), now))
return 1
"""
)

# KEYS: the key. ARGV: limit, period. A cost-1 check that consumes nothing.
_PEEK = _DECIDE + "\nreturn (decide(tat_of(KEYS[1]), tonumber(ARGV[1]), tonumber(ARGV[2]), 1, false))\n"


def _decide(now: float, tat: float, rate: Rate, cost: int, consumed: bool) -> tuple[list[int], float, bool]:
    """The twin of the Lua `decide`, operation for operation."""
    limit, period = rate.limit, rate.period_ms
    t = period / limit
    slack = min(t / 2, 0.001)
    new_tat = tat + cost * t
    allowed = cost <= limit and new_tat - now <= period + slack
    after = new_tat if allowed and consumed else tat
    remaining = max(math.floor((period + slack - (after - now)) / t), 0)
    retry = -1 if cost > limit else (0 if allowed else math.ceil(new_tat - period - now))
    return [1 if allowed else 0, limit, remaining, math.ceil(after - now), retry], new_tat, allowed


class _Twin:
    """Stores (base, offset) like the script's "base:offset"; the twin's clock has no fraction."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.base = store.now_ms()
        self.now = 0.0

    def tat(self, key: str) -> float:
        stored = self.store.get(key)
        if stored is None:
            return self.now
        base: int = stored[0]
        offset: float = stored[1]
        return max(base - self.base + offset, self.now)

    def save(self, key: str, tat: float) -> None:
        if tat <= self.now:
            self.store.delete(key)
        else:
            self.store.set(key, (self.base, tat), math.ceil(tat - self.now))


def _consume_twin(store: MemoryStore, items: list[tuple[str, Rate, int]]) -> list[list[int]]:
    twin = _Twin(store)
    decided = [_decide(twin.now, twin.tat(key), rate, cost, True) for key, rate, cost in items]
    if all(allowed for _, _, allowed in decided):
        for (key, _, _), (_, new_tat, _) in zip(items, decided, strict=True):
            twin.save(key, new_tat)
        return [row for row, _, _ in decided]
    return [_decide(twin.now, twin.tat(key), rate, cost, False)[0] for key, rate, cost in items]


def _charge_twin(store: MemoryStore, key: str, rate: Rate, cost: int) -> int:
    twin = _Twin(store)
    twin.save(key, max(twin.tat(key) + cost * rate.period_ms / rate.limit, twin.now))
    return 1


def _decision(row: Any) -> LimitDecision:
    allowed, limit, remaining, reset, retry = (int(value) for value in row)
    return LimitDecision(allowed=bool(allowed), limit=limit, remaining=remaining, reset_ms=reset, retry_after_ms=retry)


def _decisions(raw: Any) -> list[LimitDecision]:
    return [_decision(row) for row in raw]


def _none(raw: Any) -> None:
    return None


class RateLimiter:
    def __init__(self, redis: Redis | None) -> None:
        self._consume = Lua(redis, _CONSUME)
        self._charge = Lua(redis, _CHARGE)
        self._peek = Lua(redis, _PEEK)

    def consume(self, batch: Batch, items: Sequence[tuple[str, Rate, int]]) -> Slot[list[LimitDecision]]:
        """Admit all items or none; one decision per item, in order (see `admitted`)."""
        stored = [(keys.ratelimit(key), rate, cost) for key, rate, cost in items]
        if any(cost < 0 for _, _, cost in stored):
            raise ValueError("a consumed cost cannot be negative (refund with charge)")
        if not stored:
            empty: Slot[list[LimitDecision]] = Slot()
            empty.fill([])
            return empty
        args: list[int] = []
        for _, rate, cost in stored:
            args += [rate.limit, rate.period_ms, cost]
        return batch.call(
            self._consume.call([key for key, _, _ in stored], args), lambda s: _consume_twin(s, stored), _decisions
        )

    def charge(self, batch: Batch, key: str, rate: Rate, cost: int) -> Slot[None]:
        """Consume unconditionally (settlement after the fact); a negative cost refunds."""
        stored = keys.ratelimit(key)
        return batch.call(
            self._charge.call([stored], [rate.limit, rate.period_ms, cost]),
            lambda s: _charge_twin(s, stored, rate, cost),
            _none,
        )

    def peek(self, batch: Batch, key: str, rate: Rate) -> Slot[LimitDecision]:
        """Would a request of cost 1 be admitted now? Consumes nothing."""
        stored = keys.ratelimit(key)

        def twin(store: MemoryStore) -> list[int]:
            state = _Twin(store)
            return _decide(state.now, state.tat(stored), rate, 1, False)[0]

        return batch.call(self._peek.call([stored], [rate.limit, rate.period_ms]), twin, _decision)
