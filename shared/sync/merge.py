"""The per-record merge of two configuration states (local and remote).

A record is one row of a synced table, or a tombstone for a deleted row, identified by
(table, key) and stamped with `v`: its `updated_at` (or deletion time) in microseconds since the
epoch. The rule, applied to each (table, key) present on either side:

1. present on one side only -> kept;
2. otherwise the higher `v` wins (last writer wins per record);
3. equal `v`: a tombstone beats a row (a deletion is never undone by an equally old copy);
4. still equal: the record whose canonical JSON has the greater SHA-256 wins.

Every step depends only on the two records, so both sides, and any order of merges, reach the
same result; changes to different records never touch each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from shared import jsonx

__all__ = ["Merged", "Record", "merge", "record_from_json", "winner"]


@dataclass(frozen=True, slots=True)
class Record:
    table: str
    key: str
    v: int
    deleted: bool
    row: dict[str, Any] | None  # None for a tombstone
    secrets: dict[str, str | None]  # plaintext credentials, only inside the sealed bundle

    @property
    def ident(self) -> tuple[str, str]:
        return (self.table, self.key)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"table": self.table, "key": self.key, "v": self.v, "deleted": self.deleted}
        if not self.deleted:
            body["row"] = self.row
            body["secrets"] = self.secrets
        return body

    def digest(self) -> str:
        return hashlib.sha256(jsonx.dumps(_canonical(self.to_json()))).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return [[k, _canonical(value[k])] for k in sorted(value)]
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def record_from_json(raw: dict[str, Any], tables: frozenset[str]) -> Record:
    """Validate one bundle record; ValueError names what is wrong."""
    table, key, v, deleted = raw.get("table"), raw.get("key"), raw.get("v"), raw.get("deleted")
    if table not in tables:
        raise ValueError(f"unknown table {str(table)[:64]!r}")
    if not isinstance(key, str) or not key or len(key) > 1024:
        raise ValueError("a record key must be a non-empty string")
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError("a record version must be a non-negative integer")
    if not isinstance(deleted, bool):
        raise ValueError("`deleted` must be a boolean")
    if deleted:
        return Record(str(table), key, v, True, None, {})
    row, secrets = raw.get("row"), raw.get("secrets") or {}
    if not isinstance(row, dict):
        raise ValueError("a live record needs a `row` object")
    if not isinstance(secrets, dict) or not all(isinstance(s, str | None) for s in secrets.values()):
        raise ValueError("`secrets` must map column names to strings")
    return Record(str(table), key, v, False, row, {str(k): s for k, s in secrets.items()})


def winner(a: Record, b: Record) -> Record:
    rank_a = (a.v, a.deleted, a.digest())
    rank_b = (b.v, b.deleted, b.digest())
    return a if rank_a >= rank_b else b


@dataclass(frozen=True, slots=True)
class Merged:
    records: list[Record]  # the merged state, sorted by (table, key)
    to_apply: list[Record]  # remote records that win over (or are missing from) the local state


def merge(local: list[Record], remote: list[Record]) -> Merged:
    mine = {r.ident: r for r in local}
    theirs = {r.ident: r for r in remote}
    merged: list[Record] = []
    to_apply: list[Record] = []
    for ident in sorted(mine.keys() | theirs.keys()):
        a, b = mine.get(ident), theirs.get(ident)
        if a is None:
            assert b is not None
            chosen = b
        elif b is None:
            chosen = a
        else:
            chosen = winner(a, b)
        merged.append(chosen)
        if a is None or (chosen is not a and chosen != a):  # equal content: nothing to write
            to_apply.append(chosen)
    return Merged(merged, to_apply)
