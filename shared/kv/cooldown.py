"""Cooldown per provider connection, shared by every edge.

A cooling connection is skipped by routing until its cooldown key expires. An upstream hint
(Retry-After, retry-after-ms) is honoured exactly, capped at 24 h, and leaves the escalation level
alone; without a hint the cooldown is base_ms x 2^level (capped at max_ms) and the level rises by
one, to be forgotten level_ttl_ms after the last cooldown or reset by `clear` after a success.

A cooldown never shortens one already in force (a late 429 with a short hint does not lift an
auth cooldown): `cool` returns the cooldown in force afterwards, which is the one it computed
unless a longer one was already running.
"""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import Lua, as_int, as_text, delete

__all__ = ["Cooldown", "CooldownPolicy", "CooldownView", "read_all"]


class CooldownPolicy(msgspec.Struct, frozen=True, kw_only=True):
    base_ms: int = 3_000
    max_ms: int = 300_000
    level_ttl_ms: int = 3_600_000


class CooldownView(msgspec.Struct, frozen=True, kw_only=True):
    connection_id: str
    remaining_ms: int  # 0: not cooling (only an escalation level is remembered)
    level: int


_MAX_EXPONENT = 40  # base x 2^40 is far past any cap

# KEYS: cooldown, level. ARGV: base_ms, max_ms, level_ttl_ms, hint ('' for none), max_hint, max exponent.
# Returns the cooldown in force afterwards (ms).
_COOL = """
local applied
if ARGV[4] ~= '' then
  applied = math.min(tonumber(ARGV[4]), tonumber(ARGV[5]))
else
  local level = tonumber(redis.call('GET', KEYS[2]) or '0')
  applied = math.min(tonumber(ARGV[1]) * 2 ^ math.min(level, tonumber(ARGV[6])), tonumber(ARGV[2]))
  redis.call('SET', KEYS[2], level + 1, 'PX', ARGV[3])
end
applied = math.floor(applied)
local current = redis.call('PTTL', KEYS[1])
if applied <= current or applied <= 0 then return math.max(current, 0) end
redis.call('SET', KEYS[1], applied, 'PX', applied)
return applied
"""

# KEYS: the cooldown keys. Returns each one's PTTL (<= 0: not cooling).
_REMAINING = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('PTTL', key) end
return out
"""


def _cool_twin(store: MemoryStore, connection_id: str, policy: CooldownPolicy, hint: int | None) -> int:
    key, level_key = keys.cooldown(connection_id), keys.cooldown_level(connection_id)
    if hint is not None:
        applied = min(hint, keys.MAX_RETRY_AFTER_MS)
    else:
        level = int(store.get(level_key) or 0)
        applied = min(policy.base_ms * 2 ** min(level, _MAX_EXPONENT), policy.max_ms)
        store.set(level_key, level + 1, policy.level_ttl_ms)
    current = store.ttl_ms(key)
    if applied <= current or applied <= 0:
        return max(current, 0)
    store.set(key, applied, applied)
    return applied


def _remaining_twin(store: MemoryStore, connection_ids: list[str]) -> list[int]:
    return [store.ttl_ms(keys.cooldown(connection_id)) for connection_id in connection_ids]


def _none(raw: Any) -> None:
    return None


class Cooldown:
    def __init__(self, redis: Redis | None) -> None:
        self._cool = Lua(redis, _COOL)
        self._remaining = Lua(redis, _REMAINING)

    def cool(self, batch: Batch, connection_id: str, policy: CooldownPolicy, retry_after_ms: int | None) -> Slot[int]:
        """Cool the connection down; returns the cooldown in force afterwards (ms)."""
        hint = None if retry_after_ms is None else max(retry_after_ms, 0)
        args = [policy.base_ms, policy.max_ms, policy.level_ttl_ms, "" if hint is None else hint]
        args += [keys.MAX_RETRY_AFTER_MS, _MAX_EXPONENT]
        return batch.call(
            self._cool.call([keys.cooldown(connection_id), keys.cooldown_level(connection_id)], args),
            lambda s: _cool_twin(s, connection_id, policy, hint),
            as_int,
        )

    def remaining(self, batch: Batch, connection_ids: list[str]) -> Slot[dict[str, int]]:
        """Remaining cooldown (ms) of each connection that is cooling; absent = available."""
        ids = list(connection_ids)
        if not ids:
            empty: Slot[dict[str, int]] = Slot()
            empty.fill({})
            return empty

        def read(raw: Any) -> dict[str, int]:
            return {cid: int(ms) for cid, ms in zip(ids, raw, strict=True) if int(ms) > 0}

        return batch.call(
            self._remaining.call([keys.cooldown(cid) for cid in ids], []), lambda s: _remaining_twin(s, ids), read
        )

    def clear(self, batch: Batch, connection_id: str) -> Slot[None]:
        """After a success following a cooldown: the escalation level starts again from base_ms."""
        level_key = keys.cooldown_level(connection_id)
        return batch.call(lambda pipe: pipe.delete(level_key), lambda s: delete(s, level_key), _none)


async def read_all(redis: Redis) -> list[CooldownView]:
    """Every connection cooling down or carrying an escalation level, for listings."""
    ids: set[str] = set()
    async for raw in redis.scan_iter(match=keys.COOLDOWN_PREFIX + "*", count=500):
        rest = as_text(raw)[len(keys.COOLDOWN_PREFIX) :].removesuffix(":level")
        if rest.startswith("{") and rest.endswith("}"):
            ids.add(rest[1:-1])
    ordered = sorted(ids)
    pipe = redis.pipeline(transaction=False)
    for connection_id in ordered:
        pipe.pttl(keys.cooldown(connection_id))
        pipe.get(keys.cooldown_level(connection_id))
    replies = await pipe.execute() if ordered else []
    views = [
        CooldownView(connection_id=cid, remaining_ms=max(int(replies[2 * i]), 0), level=as_int(replies[2 * i + 1]))
        for i, cid in enumerate(ordered)
    ]
    return [view for view in views if view.remaining_ms > 0 or view.level > 0]
