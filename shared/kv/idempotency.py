"""Idempotency leases (reliability.md §2): one execution per (API key, Idempotency-Key), replays after.

`claim` is one atomic step: the first caller gets the lease (state in_progress, its payload
fingerprint and owner token, PX lease_ms); a duplicate with the same fingerprint is in flight
(answer 409, or wait and poll `read`); another payload under the same key is a mismatch (422);
once completed the same payload gets the stored response (replay). Only the owner may complete,
renew or release (fencing), so an edge whose lease lapsed cannot overwrite its successor's work.
`release` drops an in-progress claim only: a stored response is never deleted by its owner.

The record lives under the sha256 of the caller's scope key, so client-chosen keys never reach
Redis as key names and one API key can never see another's responses.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, cast

import msgspec
from redis.asyncio import Redis

from shared.kv import keys
from shared.kv.batch import Batch, MemoryStore, Slot
from shared.kv.scripting import Lua, as_int, as_text

__all__ = ["Claim", "Idempotency", "StoredResponse", "active_count", "record_key"]

Outcome = Literal["claimed", "in_flight", "mismatch", "done"]


class StoredResponse(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    media_type: str
    stream: bool


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    response: StoredResponse | None = None  # set when the outcome is "done"


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(StoredResponse)

# KEYS: record. ARGV: fingerprint, owner, lease_ms.
_CLAIM = """
local s = redis.call('HMGET', KEYS[1], 'state', 'fp', 'resp')
if not s[1] then
  redis.call('HSET', KEYS[1], 'state', 'in_progress', 'fp', ARGV[1], 'owner', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed'}
end
if s[2] ~= ARGV[1] then return {'mismatch'} end
if s[1] == 'done' then return {'done', s[3]} end
return {'in_flight'}
"""

# The owner check every owner-only operation starts with.
_OWNED = """
local s = redis.call('HMGET', KEYS[1], 'state', 'owner')
if s[1] ~= 'in_progress' or s[2] ~= ARGV[1] then return 0 end
"""

# KEYS: record. ARGV: owner, response, keep_ms.
_COMPLETE = (
    _OWNED
    + """
redis.call('HSET', KEYS[1], 'state', 'done', 'resp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

# KEYS: record. ARGV: owner.
_RELEASE = _OWNED + "\nredis.call('DEL', KEYS[1])\nreturn 1\n"

# KEYS: record. ARGV: owner, lease_ms.
_RENEW = _OWNED + "\nredis.call('PEXPIRE', KEYS[1], ARGV[2])\nreturn 1\n"


def record_key(scope_key: str) -> str:
    return keys.idempotency(hashlib.sha256(scope_key.encode()).hexdigest())


def _claim_twin(store: MemoryStore, key: str, fingerprint: str, owner: str, lease_ms: int) -> list[Any]:
    record = store.get(key)
    if record is None:
        store.set(key, {"state": b"in_progress", "fp": fingerprint.encode(), "owner": owner.encode()}, lease_ms)
        return [b"claimed"]
    if record["fp"] != fingerprint.encode():
        return [b"mismatch"]
    if record["state"] == b"done":
        return [b"done", record["resp"]]
    return [b"in_flight"]


def _owned(store: MemoryStore, key: str, owner: str) -> dict[str, bytes] | None:
    record = store.get(key)
    if record is None or record["state"] != b"in_progress" or record["owner"] != owner.encode():
        return None
    return dict(record)


def _complete_twin(store: MemoryStore, key: str, owner: str, blob: bytes, keep_ms: int) -> int:
    record = _owned(store, key, owner)
    if record is None:
        return 0
    store.set(key, {**record, "state": b"done", "resp": blob}, keep_ms)
    return 1


def _release_twin(store: MemoryStore, key: str, owner: str) -> int:
    if _owned(store, key, owner) is None:
        return 0
    store.delete(key)
    return 1


def _renew_twin(store: MemoryStore, key: str, owner: str, lease_ms: int) -> int:
    record = _owned(store, key, owner)
    if record is None:
        return 0
    store.set(key, record, lease_ms)
    return 1


def _read_twin(store: MemoryStore, key: str) -> list[Any]:
    record = store.get(key) or {}
    return [record.get("state"), record.get("resp")]


def _claim(raw: Any) -> Claim:
    outcome = cast(Outcome, as_text(raw[0]))
    response = _DECODER.decode(raw[1]) if outcome == "done" else None
    return Claim(outcome=outcome, response=response)


def _read(raw: Any) -> Claim | None:
    state, blob = raw
    if state is None:
        return None
    if as_text(state) == "done":
        return Claim(outcome="done", response=_DECODER.decode(blob))
    return Claim(outcome="in_flight")


def _ok(raw: Any) -> bool:
    return as_int(raw) == 1


class Idempotency:
    def __init__(self, redis: Redis | None) -> None:
        self._claim = Lua(redis, _CLAIM)
        self._complete = Lua(redis, _COMPLETE)
        self._release = Lua(redis, _RELEASE)
        self._renew = Lua(redis, _RENEW)

    def claim(self, batch: Batch, scope_key: str, fingerprint: str, owner: str, lease_ms: int) -> Slot[Claim]:
        key = record_key(scope_key)
        return batch.call(
            self._claim.call([key], [fingerprint, owner, lease_ms]),
            lambda s: _claim_twin(s, key, fingerprint, owner, lease_ms),
            _claim,
        )

    def complete(self, batch: Batch, scope_key: str, owner: str, response: StoredResponse, keep_ms: int) -> Slot[bool]:
        """Store the response for replays (state done, PX keep_ms); False unless `owner` holds the lease."""
        key, blob = record_key(scope_key), _ENCODER.encode(response)
        return batch.call(
            self._complete.call([key], [owner, blob, keep_ms]),
            lambda s: _complete_twin(s, key, owner, blob, keep_ms),
            _ok,
        )

    def release(self, batch: Batch, scope_key: str, owner: str) -> Slot[bool]:
        """Drop an in-progress claim (nothing billable happened); False unless `owner` holds the lease."""
        key = record_key(scope_key)
        return batch.call(self._release.call([key], [owner]), lambda s: _release_twin(s, key, owner), _ok)

    def renew(self, batch: Batch, scope_key: str, owner: str, lease_ms: int) -> Slot[bool]:
        """Extend the lease (every lease/3 while streaming); False when it was lost."""
        key = record_key(scope_key)
        return batch.call(
            self._renew.call([key], [owner, lease_ms]), lambda s: _renew_twin(s, key, owner, lease_ms), _ok
        )

    def read(self, batch: Batch, scope_key: str) -> Slot[Claim | None]:
        """For a waiting duplicate: in_flight, done (with the response), or None when there is no record
        (released, or the lease lapsed: claim again)."""
        key = record_key(scope_key)
        return batch.call(lambda pipe: pipe.hmget(key, ["state", "resp"]), lambda s: _read_twin(s, key), _read)


async def active_count(redis: Redis) -> int:
    """Claims in progress fleet-wide (SCAN: for the management API and metrics, not the hot path)."""
    found = [key async for key in redis.scan_iter(match=keys.IDEMPOTENCY_PREFIX + "*", count=500)]
    if not found:
        return 0
    pipe = redis.pipeline(transaction=False)
    for key in found:
        pipe.hget(key, "state")
    return sum(1 for state in await pipe.execute() if state is not None and as_text(state) == "in_progress")
