"""Per-API-key USD budgets: reserve before the upstream call, settle to the real cost after it.

All amounts are integer micro-dollars. One hash per key holds the current period (`start`,
`period`), the `spent` and `reserved` totals and one field `r:<request id>` per open reservation;
a ZSET beside it holds each reservation's lease expiry. Every operation is one script on Redis
time, so the fleet shares one clock and one counter:

- `reserve` admits a request when spent + reserved + its estimate stays within the limit and
  records the estimate under the request id (reserving the same request id twice holds it once);
- `settle` releases the reservation and adds the real cost (0 for a failed request) exactly once:
  the field is removed, so a second settle of the same request id changes nothing;
- a reservation whose lease passed (its edge crashed) gives its amount back at the next operation
  and leaves a marker `e`, so a late settle still counts the real cost, once;
- a new period (UTC day, ISO week, month; see shared/budget_period.py) starts from spent 0;
- `reconcile` raises `spent` to what Postgres recorded for the period (rebuilds it after a Redis
  restart; never lowers it, since the usage stream may not have delivered the latest requests yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared.budget_period import window
from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import NOW_MS, Lua

__all__ = ["BudgetView", "Budgets"]

# Keep a key's state a day past the end of its period (a later operation resets it anyway).
_GRACE_MS = 86_400_000
_EXPIRED = "e"

_PRELUDE = (
    NOW_MS
    + """
local hash, leases = KEYS[1], KEYS[2]
local function window(period)
  local day = math.floor(now / 86400000)
  if period == 'daily' then return day * 86400000, (day + 1) * 86400000 end
  if period == 'weekly' then
    local first = day - (day + 3) % 7
    return first * 86400000, (first + 7) * 86400000
  end
  -- monthly: the civil date of `day` (days from civil, inverted), then the length of its month
  local z = day + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  local lengths = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
  local length = lengths[m]
  if m == 2 and y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then length = 29 end
  local first = day - (d - 1)
  return first * 86400000, (first + length) * 86400000
end
local function open(period)
  local start, finish = window(period)
  local stored = redis.call('HMGET', hash, 'start', 'period', 'spent', 'reserved')
  local spent, reserved = tonumber(stored[3]) or 0, tonumber(stored[4]) or 0
  if tonumber(stored[1]) ~= start or stored[2] ~= period then
    spent = 0
  end
  local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  for _, id in ipairs(expired) do
    local field = 'r:' .. id
    local held = redis.call('HGET', hash, field)
    if held and held ~= 'e' then
      reserved = reserved - tonumber(held)
      redis.call('HSET', hash, field, 'e')
    end
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', leases, '-inf', now) end
  if reserved < 0 then reserved = 0 end
  return start, finish, spent, reserved
end
local function save(period, start, finish, spent, reserved)
  redis.call('HSET', hash, 'start', start, 'period', period, 'spent', spent, 'reserved', reserved)
  local ttl = finish - now + 86400000
  redis.call('PEXPIRE', hash, ttl)
  if redis.call('ZCARD', leases) > 0 then redis.call('PEXPIRE', leases, ttl) end
end
"""
)

# ARGV: request id, amount, limit, period, lease ms.
# -> {allowed, spent, reserved, start, end} (spent and reserved after the decision)
_RESERVE = (
    _PRELUDE
    + """
local id, amount, limit, period, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local start, finish, spent, reserved = open(period)
local field = 'r:' .. id
local allowed = 1
if redis.call('HEXISTS', hash, field) == 0 then
  if spent + reserved + amount > limit then
    allowed = 0
  else
    reserved = reserved + amount
    redis.call('HSET', hash, field, amount)
    redis.call('ZADD', leases, now + lease, id)
  end
end
save(period, start, finish, spent, reserved)
return {allowed, spent, reserved, start, finish}
"""
)

# ARGV: request id, real cost, period. -> {1 when this call settled it, spent, reserved, start, end}
_SETTLE = (
    _PRELUDE
    + """
local id, cost, period = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local start, finish, spent, reserved = open(period)
local field = 'r:' .. id
local held = redis.call('HGET', hash, field)
local settled = 0
if held then
  if held ~= 'e' then reserved = math.max(reserved - tonumber(held), 0) end
  spent = spent + cost
  redis.call('HDEL', hash, field)
  redis.call('ZREM', leases, id)
  settled = 1
end
save(period, start, finish, spent, reserved)
return {settled, spent, reserved, start, finish}
"""
)

# ARGV: period. -> {0, spent, reserved, start, end}
_STATUS = (
    _PRELUDE
    + """
local period = ARGV[1]
local start, finish, spent, reserved = open(period)
save(period, start, finish, spent, reserved)
return {0, spent, reserved, start, finish}
"""
)

# ARGV: period, the period start the caller counted for, spent in Postgres for it.
# -> {1 when applied (0: another period is current), spent, reserved, start, end}
_RECONCILE = (
    _PRELUDE
    + """
local period, counted, recorded = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local start, finish, spent, reserved = open(period)
local applied = 0
if start == counted then
  spent = math.max(spent, recorded)
  applied = 1
end
save(period, start, finish, spent, reserved)
return {applied, spent, reserved, start, finish}
"""
)


@dataclass(frozen=True, slots=True)
class BudgetView:
    """A key's budget state after an operation; `done` is the operation's own flag (see each method)."""

    done: bool
    spent: int
    reserved: int
    start_ms: int
    end_ms: int


def _view(raw: Any) -> BudgetView:
    done, spent, reserved, start, end = (int(value) for value in raw)
    return BudgetView(bool(done), spent, reserved, start, end)


class _Twin:
    """The scripts' twin: the hash as a dict under the hash key, leases as a dict id -> expiry."""

    def __init__(self, store: MemoryStore, key_id: str) -> None:
        self.store = store
        self.now = store.now_ms()
        self.hash_key, self.leases_key = keys.budget(key_id), keys.budget_leases(key_id)
        self.hash: dict[str, Any] = dict(store.get(self.hash_key) or {})
        self.leases: dict[str, int] = dict(store.get(self.leases_key) or {})

    def open(self, period: str) -> tuple[int, int, int, int]:
        start, finish = window(self.now, period)
        spent, reserved = int(self.hash.get("spent", 0)), int(self.hash.get("reserved", 0))
        if self.hash.get("start") != start or self.hash.get("period") != period:
            spent = 0
        for ident, expiry in list(self.leases.items()):
            if expiry <= self.now:
                held = self.hash.get("r:" + ident)
                if held is not None and held != _EXPIRED:
                    reserved -= int(held)
                    self.hash["r:" + ident] = _EXPIRED
                del self.leases[ident]
        return start, finish, spent, max(reserved, 0)

    def save(self, period: str, start: int, finish: int, spent: int, reserved: int) -> None:
        self.hash.update(start=start, period=period, spent=spent, reserved=reserved)
        ttl = finish - self.now + _GRACE_MS
        self.store.set(self.hash_key, self.hash, ttl)
        if self.leases:
            self.store.set(self.leases_key, self.leases, ttl)
        else:
            self.store.delete(self.leases_key)


def _reserve_twin(
    store: MemoryStore, key_id: str, ident: str, amount: int, limit: int, period: str, lease: int
) -> list[int]:
    twin = _Twin(store, key_id)
    start, finish, spent, reserved = twin.open(period)
    allowed = 1
    if "r:" + ident not in twin.hash:
        if spent + reserved + amount > limit:
            allowed = 0
        else:
            reserved += amount
            twin.hash["r:" + ident] = amount
            twin.leases[ident] = twin.now + lease
    twin.save(period, start, finish, spent, reserved)
    return [allowed, spent, reserved, start, finish]


def _settle_twin(store: MemoryStore, key_id: str, ident: str, cost: int, period: str) -> list[int]:
    twin = _Twin(store, key_id)
    start, finish, spent, reserved = twin.open(period)
    held = twin.hash.pop("r:" + ident, None)
    settled = 0
    if held is not None:
        if held != _EXPIRED:
            reserved = max(reserved - int(held), 0)
        spent += cost
        twin.leases.pop(ident, None)
        settled = 1
    twin.save(period, start, finish, spent, reserved)
    return [settled, spent, reserved, start, finish]


def _status_twin(store: MemoryStore, key_id: str, period: str) -> list[int]:
    twin = _Twin(store, key_id)
    start, finish, spent, reserved = twin.open(period)
    twin.save(period, start, finish, spent, reserved)
    return [0, spent, reserved, start, finish]


def _reconcile_twin(store: MemoryStore, key_id: str, period: str, counted: int, recorded: int) -> list[int]:
    twin = _Twin(store, key_id)
    start, finish, spent, reserved = twin.open(period)
    applied = 0
    if start == counted:
        spent, applied = max(spent, recorded), 1
    twin.save(period, start, finish, spent, reserved)
    return [applied, spent, reserved, start, finish]


def _check(amount: int, name: str) -> None:
    if amount < 0:
        raise ValueError(f"a budget {name} cannot be negative")


class Budgets:
    def __init__(self, redis: Redis | None) -> None:
        self._reserve = Lua(redis, _RESERVE)
        self._settle = Lua(redis, _SETTLE)
        self._status = Lua(redis, _STATUS)
        self._reconcile = Lua(redis, _RECONCILE)

    @staticmethod
    def _keys(key_id: str) -> list[str]:
        return [keys.budget(key_id), keys.budget_leases(key_id)]

    def reserve(
        self, batch: Batch, key_id: str, request_id: str, amount: int, limit: int, period: str, lease_ms: int
    ) -> Slot[BudgetView]:
        """Hold `amount` for the request when it fits; `done` is whether it was admitted."""
        _check(amount, "reservation")
        return batch.call(
            self._reserve.call(self._keys(key_id), [request_id, amount, limit, period, lease_ms]),
            lambda s: _reserve_twin(s, key_id, request_id, amount, limit, period, lease_ms),
            _view,
        )

    def settle(self, batch: Batch, key_id: str, request_id: str, cost: int, period: str) -> Slot[BudgetView]:
        """Release the request's reservation and count its real cost; `done` is whether this call did."""
        _check(cost, "cost")
        return batch.call(
            self._settle.call(self._keys(key_id), [request_id, cost, period]),
            lambda s: _settle_twin(s, key_id, request_id, cost, period),
            _view,
        )

    def status(self, batch: Batch, key_id: str, period: str) -> Slot[BudgetView]:
        return batch.call(
            self._status.call(self._keys(key_id), [period]), lambda s: _status_twin(s, key_id, period), _view
        )

    def reconcile(self, batch: Batch, key_id: str, period: str, start_ms: int, recorded: int) -> Slot[BudgetView]:
        """Raise spent to `recorded` (Postgres's sum for the period starting at `start_ms`);
        `done` is False when Redis's clock is already in another period (nothing applied)."""
        _check(recorded, "recorded spend")
        return batch.call(
            self._reconcile.call(self._keys(key_id), [period, start_ms, recorded]),
            lambda s: _reconcile_twin(s, key_id, period, start_ms, recorded),
            _view,
        )
