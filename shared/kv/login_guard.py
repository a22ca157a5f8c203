"""Brute-force guard for the admin login: at most `max_attempts` per client address per window.

An attempt is taken *before* the password is checked, atomically (one Lua script on Redis time),
so concurrent guesses from one address, on any control-plane instance, can never exceed the
limit. A failed attempt stays in the window; a successful one gives back only its own attempt,
so a success never wipes the failures counted against anyone else. When the window is full,
`attempt` answers how long until its oldest entry leaves it (the Retry-After).
"""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import NOW_MS, Lua, as_int

__all__ = ["LoginGuard", "LoginPolicy"]


class LoginPolicy(msgspec.Struct, frozen=True, kw_only=True):
    max_attempts: int = 5
    window_ms: int = 15 * 60 * 1000


# KEYS: attempts zset. ARGV: window_ms, max_attempts, attempt id.
# Returns 0 when the attempt was taken, else the ms until the window has room again.
_ATTEMPT = (
    NOW_MS
    + """
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return math.max(tonumber(freeing[2]) + window - now, 1)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""
)


def _attempt_twin(store: MemoryStore, key: str, policy: LoginPolicy, attempt_id: str) -> int:
    now = store.now_ms()
    entries: dict[str, int] = {
        member: at for member, at in (store.get(key) or {}).items() if at > now - policy.window_ms
    }
    if len(entries) >= policy.max_attempts:
        ordered = sorted(entries.values())
        return max(ordered[len(ordered) - policy.max_attempts] + policy.window_ms - now, 1)
    entries[attempt_id] = now
    store.set(key, entries, policy.window_ms)
    return 0


def _forgive_twin(store: MemoryStore, key: str, attempt_id: str) -> int:
    entries = store.get(key)
    if not entries or attempt_id not in entries:
        return 0
    remaining = {member: at for member, at in entries.items() if member != attempt_id}
    ttl = store.ttl_ms(key)
    store.set(key, remaining, ttl if ttl > 0 else None)
    return 1


def _none(raw: Any) -> None:
    return None


class LoginGuard:
    def __init__(self, redis: Redis | None) -> None:
        self._attempt = Lua(redis, _ATTEMPT)

    def attempt(self, batch: Batch, client: str, attempt_id: str, policy: LoginPolicy) -> Slot[int]:
        """Take one attempt for `client`: 0 = go ahead, else ms until an attempt is allowed again."""
        key = keys.login_attempts(client)
        return batch.call(
            self._attempt.call([key], [policy.window_ms, policy.max_attempts, attempt_id]),
            lambda s: _attempt_twin(s, key, policy, attempt_id),
            as_int,
        )

    def forgive(self, batch: Batch, client: str, attempt_id: str) -> Slot[None]:
        """The attempt succeeded: give it back (only this one; other failures stay counted)."""
        key = keys.login_attempts(client)
        return batch.call(lambda pipe: pipe.zrem(key, attempt_id), lambda s: _forgive_twin(s, key, attempt_id), _none)
