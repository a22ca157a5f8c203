"""The per-record merge rule: newest wins, deletion wins ties, then the greater digest."""

from __future__ import annotations

import pytest

from shared.sync.merge import Record, merge, record_from_json, winner

TABLES = frozenset({"combos", "settings"})


def row(key: str, v: int, value: str = "x") -> Record:
    return Record("settings", key, v, False, {"key": key, "value": value}, {})


def tomb(key: str, v: int) -> Record:
    return Record("settings", key, v, True, None, {})


def test_changes_to_different_records_both_survive() -> None:
    merged = merge([row("a", 2)], [row("b", 3)])
    assert [r.key for r in merged.records] == ["a", "b"]
    assert [r.key for r in merged.to_apply] == ["b"]


def test_the_newer_version_of_a_record_wins_on_either_side() -> None:
    assert winner(row("a", 1, "old"), row("a", 2, "new")).row == {"key": "a", "value": "new"}
    assert winner(row("a", 2, "new"), row("a", 1, "old")).row == {"key": "a", "value": "new"}
    merged = merge([row("a", 5, "local")], [row("a", 4, "remote")])
    assert merged.to_apply == [] and merged.records[0].row == {"key": "a", "value": "local"}


def test_a_deletion_wins_over_an_older_or_equally_old_row_and_loses_to_a_newer_one() -> None:
    assert winner(row("a", 5), tomb("a", 5)).deleted
    assert winner(tomb("a", 5), row("a", 4)).deleted
    assert not winner(tomb("a", 5), row("a", 6)).deleted


def test_ties_resolve_the_same_way_whichever_side_merges() -> None:
    left, right = row("a", 9, "left"), row("a", 9, "right")
    assert winner(left, right) == winner(right, left)
    assert merge([left], [right]).records == merge([right], [left]).records


def test_identical_records_are_not_applied_again() -> None:
    assert merge([row("a", 3)], [row("a", 3)]).to_apply == []


@pytest.mark.parametrize(
    "raw",
    [
        {"table": "users", "key": "a", "v": 1, "deleted": True},
        {"table": "settings", "key": "", "v": 1, "deleted": True},
        {"table": "settings", "key": "a", "v": -1, "deleted": True},
        {"table": "settings", "key": "a", "v": True, "deleted": True},
        {"table": "settings", "key": "a", "v": 1, "deleted": "no"},
        {"table": "settings", "key": "a", "v": 1, "deleted": False},
        {"table": "settings", "key": "a", "v": 1, "deleted": False, "row": {}, "secrets": {"c": 1}},
    ],
)
def test_invalid_records_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"table|key|version|deleted|row|secrets"):
        record_from_json(raw, TABLES)
