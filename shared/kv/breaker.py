"""Circuit breaker per provider, shared by every edge (reliability.md §1.6).

closed --failure_threshold consecutive failures--> open (reset period) --due--> half_open: exactly
one caller fleet-wide holds the probe lease (SET NX PX probe_ms) and sends the probe. The probe
succeeding closes the breaker and restores the policy's reset period; failing reopens it with the
period doubled (capped at max_reset_ms). A prober that dies lets its lease lapse and the next
caller gets the probe. Outcomes of requests admitted before the breaker opened (a success or
failure that is not the probe while open or half-open) change nothing.

State lives in one hash per provider; an absent hash is "closed, no failures, default period", so a
success on a healthy provider writes nothing.
"""

from __future__ import annotations

from typing import Any, Literal, cast

import msgspec
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import NOW_MS, Lua, as_int, as_text, delete

__all__ = ["Breaker", "BreakerPolicy", "BreakerView", "providers"]

BreakerState = Literal["closed", "open", "half_open"]


class BreakerPolicy(msgspec.Struct, frozen=True, kw_only=True):
    failure_threshold: int = 5
    reset_ms: int = 30_000
    max_reset_ms: int = 300_000
    probe_ms: int = 30_000


class BreakerView(msgspec.Struct, frozen=True, kw_only=True):
    state: BreakerState
    failures: int
    retry_in_ms: int  # open: until due; half_open without the probe: until the probe lease lapses
    probe: bool  # this caller holds the probe lease and must report the outcome with probe=True

    @property
    def allowed(self) -> bool:
        return self.state == "closed" or self.probe


# Shared prologue: the stored state (HMGET gives false for missing fields).
_LOAD = """
local s = redis.call('HMGET', KEYS[1], 'state', 'failures', 'until', 'period')
local state = s[1] or 'closed'
local failures = tonumber(s[2] or '0')
"""

# Where a caller that changes nothing stands: the current view, no transition.
_VIEW = """
local function view()
  if state == 'open' then return {'open', failures, math.max(tonumber(s[3]) - now, 0), 0} end
  if state == 'half_open' then return {'half_open', failures, math.max(redis.call('PTTL', KEYS[2]), 0), 0} end
  return {'closed', failures, 0, 0}
end
"""

# KEYS: state, probe lease. ARGV: probe_ms, state ttl.
_ACQUIRE = (
    NOW_MS
    + _LOAD
    + _VIEW
    + """
if state == 'closed' then return view() end
if state == 'open' then
  if tonumber(s[3]) > now then return view() end
  state = 'half_open'
  redis.call('HSET', KEYS[1], 'state', state)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
  return {'half_open', failures, 0, 1}
end
return view()
"""
)

# KEYS: state, probe lease. ARGV: probe flag. Returns 1 when it wrote.
_SUCCEED = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if state == 'closed' or (state == 'half_open' and ARGV[1] == '1') then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""

# KEYS: state, probe lease. ARGV: threshold, reset_ms, max_reset_ms, probe flag, state ttl.
_FAIL = (
    NOW_MS
    + _LOAD
    + _VIEW
    + """
local function open(period)
  redis.call('HSET', KEYS[1], 'state', 'open', 'failures', failures, 'until', now + period, 'period', period)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('DEL', KEYS[2])
  return {'open', failures, period, 0}
end
if state == 'half_open' and ARGV[4] == '1' then
  return open(math.min(tonumber(s[4] or ARGV[2]) * 2, tonumber(ARGV[3])))
end
if state ~= 'closed' then return view() end
failures = failures + 1
if failures >= tonumber(ARGV[1]) then return open(tonumber(ARGV[2])) end
redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', failures)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {'closed', failures, 0, 0}
"""
)

# KEYS: state, probe lease.
_READ = NOW_MS + _LOAD + _VIEW + "\nreturn view()\n"


def _view(raw: Any) -> BreakerView:
    state, failures, retry_in, probe = raw
    return BreakerView(
        state=cast(BreakerState, as_text(state)),
        failures=as_int(failures),
        retry_in_ms=as_int(retry_in),
        probe=bool(probe),
    )


def _none(raw: Any) -> None:
    return None


class _Twin:
    """The same transitions over a MemoryStore: the hash is a dict, the probe lease a key."""

    def __init__(self, store: MemoryStore, provider: str) -> None:
        self.store = store
        self.key, self.probe_key = keys.breaker(provider), keys.breaker_probe(provider)
        self.now = store.now_ms()
        self.hash: dict[str, int | str] = dict(store.get(self.key) or {})
        self.state = str(self.hash.get("state", "closed"))
        self.failures = int(self.hash.get("failures", 0))

    def view(self) -> list[Any]:
        if self.state == "open":
            return [b"open", self.failures, max(int(self.hash["until"]) - self.now, 0), 0]
        if self.state == "half_open":
            return [b"half_open", self.failures, max(self.store.ttl_ms(self.probe_key), 0), 0]
        return [b"closed", self.failures, 0, 0]

    def save(self, **fields: int | str) -> None:
        self.hash.update(fields)
        self.store.set(self.key, self.hash, keys.BREAKER_TTL_MS)

    def take_probe(self, probe_ms: int) -> bool:
        if self.store.get(self.probe_key) is not None:
            return False
        self.store.set(self.probe_key, b"1", probe_ms)
        return True

    def open(self, period: int) -> list[Any]:
        self.save(state="open", failures=self.failures, until=self.now + period, period=period)
        self.store.delete(self.probe_key)
        return [b"open", self.failures, period, 0]


def _acquire_twin(store: MemoryStore, provider: str, policy: BreakerPolicy) -> list[Any]:
    twin = _Twin(store, provider)
    if twin.state == "closed":
        return twin.view()
    if twin.state == "open":
        if int(twin.hash["until"]) > twin.now:
            return twin.view()
        twin.state = "half_open"
        twin.save(state="half_open")
    if twin.take_probe(policy.probe_ms):
        return [b"half_open", twin.failures, 0, 1]
    return twin.view()


def _succeed_twin(store: MemoryStore, provider: str, probe: bool) -> int:
    twin = _Twin(store, provider)
    if store.get(twin.key) is None:
        return 0
    if twin.state == "closed" or (twin.state == "half_open" and probe):
        store.delete(twin.key)
        store.delete(twin.probe_key)
        return 1
    return 0


def _fail_twin(store: MemoryStore, provider: str, policy: BreakerPolicy, probe: bool) -> list[Any]:
    twin = _Twin(store, provider)
    if twin.state == "half_open" and probe:
        return twin.open(min(int(twin.hash.get("period", policy.reset_ms)) * 2, policy.max_reset_ms))
    if twin.state != "closed":
        return twin.view()
    twin.failures += 1
    if twin.failures >= policy.failure_threshold:
        return twin.open(policy.reset_ms)
    twin.save(state="closed", failures=twin.failures)
    return [b"closed", twin.failures, 0, 0]


class Breaker:
    def __init__(self, redis: Redis | None) -> None:
        self._acquire = Lua(redis, _ACQUIRE)
        self._succeed = Lua(redis, _SUCCEED)
        self._fail = Lua(redis, _FAIL)
        self._read = Lua(redis, _READ)

    @staticmethod
    def _keys(provider: str) -> list[str]:
        return [keys.breaker(provider), keys.breaker_probe(provider)]

    def acquire(self, batch: Batch, provider: str, policy: BreakerPolicy) -> Slot[BreakerView]:
        """May this caller send a request to the provider now? `probe` set: it is the one probe."""
        args = [policy.probe_ms, keys.BREAKER_TTL_MS]
        return batch.call(
            self._acquire.call(self._keys(provider), args), lambda s: _acquire_twin(s, provider, policy), _view
        )

    def succeed(self, batch: Batch, provider: str, probe: bool) -> Slot[None]:
        """Record a success: clears counted failures (no write when there are none); the probe closes."""
        flag = "1" if probe else "0"
        return batch.call(
            self._succeed.call(self._keys(provider), [flag]), lambda s: _succeed_twin(s, provider, probe), _none
        )

    def fail(self, batch: Batch, provider: str, policy: BreakerPolicy, probe: bool) -> Slot[BreakerView]:
        """Record a failure: counts toward the threshold; the probe failing reopens with a doubled period."""
        args = [policy.failure_threshold, policy.reset_ms, policy.max_reset_ms, "1" if probe else "0"]
        args.append(keys.BREAKER_TTL_MS)
        return batch.call(
            self._fail.call(self._keys(provider), args), lambda s: _fail_twin(s, provider, policy, probe), _view
        )

    def reset(self, batch: Batch, provider: str) -> Slot[None]:
        """Close the breaker and forget failures and escalation (management API)."""

        names = self._keys(provider)
        return batch.call(lambda pipe: pipe.delete(*names), lambda s: delete(s, *names), _none)

    def read(self, batch: Batch, provider: str) -> Slot[BreakerView]:
        """The current view without any transition (an open breaker past its period still reads open)."""
        return batch.call(self._read.call(self._keys(provider), []), lambda s: _Twin(s, provider).view(), _view)


async def providers(redis: Redis) -> list[str]:
    """Providers with breaker state (failures counted, open or half-open), for listings."""
    found: set[str] = set()
    async for raw in redis.scan_iter(match=keys.BREAKER_PREFIX + "*", count=500):
        key = as_text(raw)[len(keys.BREAKER_PREFIX) :]
        if key.startswith("{") and key.endswith("}"):
            found.add(key[1:-1])
    return sorted(found)
