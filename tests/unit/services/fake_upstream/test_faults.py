"""Fake upstream fault directives and scripted rules."""

from __future__ import annotations

import re

import pytest

from services.fake_upstream.faults import Fault, FaultScript, key_fingerprint, parse_directive


def test_no_directive_is_an_empty_fault() -> None:
    fault = parse_directive(None, "just a normal question")
    assert fault == Fault()
    assert fault.is_empty is True


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("status=503; retry_after=2", Fault(status=503, retry_after=2.0)),
        ("status=429;retry_after=0.5", Fault(status=429, retry_after=0.5)),
        ("status = 500, cut_after = 3", Fault(status=500, cut_after=3)),
        ("delay_ms=150", Fault(delay_ms=150)),
        ("stall_ms=150", Fault(delay_ms=150)),
        ("latency_ms=20", Fault(delay_ms=20)),
        ("stall_after_headers_ms=40 chunk_delay_ms=5", Fault(stall_after_headers_ms=40, chunk_delay_ms=5)),
        ("words=3 upstream_error_after=2", Fault(words=3, upstream_error_after=2)),
        ("garbage=true noise=1", Fault(garbage=True, noise=True)),
        ("garbage=YES noise=no", Fault(garbage=True, noise=False)),
        ("unknown=1 status=404", Fault(status=404)),
    ],
)
def test_directive_from_header(header: str, expected: Fault) -> None:
    assert parse_directive(header, "") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[fake status=429 retry_after=2]]", Fault(status=429, retry_after=2.0)),
        ("please fail: [[fake status=429 retry_after=2]] thanks", Fault(status=429, retry_after=2.0)),
        ("[[fake stall_ms=100]]", Fault(delay_ms=100)),
        ("[[fake latency_ms=7 words=4]]", Fault(delay_ms=7, words=4)),
        ("[[fake   cut_after=2,noise=true]]", Fault(cut_after=2, noise=True)),
        ("[[fake status=500]] and [[fake status=503]]", Fault(status=500)),
        ("[fake status=500]", Fault()),
        ("[[fakestatus=500]]", Fault()),
        ("status=500", Fault()),
    ],
)
def test_directive_from_message_text(text: str, expected: Fault) -> None:
    assert parse_directive(None, text) == expected


def test_header_wins_over_text() -> None:
    assert parse_directive("status=503", "[[fake status=429]]") == Fault(status=503)


def test_empty_header_falls_back_to_text() -> None:
    assert parse_directive("", "[[fake status=429]]") == Fault(status=429)


def test_key_fingerprint() -> None:
    assert key_fingerprint(None) is None
    assert key_fingerprint("") is None
    fingerprint = key_fingerprint("fake-key-A")
    assert fingerprint is not None
    assert re.fullmatch(r"[0-9a-f]{12}", fingerprint)
    assert key_fingerprint("fake-key-A") == fingerprint
    assert key_fingerprint("fake-key-B") != fingerprint
    assert "fake-key-A" not in fingerprint


def test_script_without_rules_gives_an_empty_fault() -> None:
    assert FaultScript().take("gpt-4o", None) == Fault()


def test_rule_matching_model_applies_every_time_without_times() -> None:
    script = FaultScript()
    script.add({"status": 500}, model="gpt-4o", api_key=None, times=None)
    for _ in range(5):
        assert script.take("gpt-4o", None) == Fault(status=500)
        assert script.take("gpt-4o", key_fingerprint("any-key")) == Fault(status=500)
    assert script.take("gpt-4o-mini", None) == Fault()


def test_rule_matching_api_key() -> None:
    script = FaultScript()
    script.add({"status": 401}, model=None, api_key="fake-key-A", times=None)
    assert script.take("any-model", key_fingerprint("fake-key-A")) == Fault(status=401)
    assert script.take("any-model", key_fingerprint("fake-key-B")) == Fault()
    assert script.take("any-model", None) == Fault()


def test_rule_matching_model_and_api_key() -> None:
    script = FaultScript()
    script.add({"status": 429}, model="gpt-4o", api_key="fake-key-A", times=None)
    assert script.take("gpt-4o", key_fingerprint("fake-key-A")) == Fault(status=429)
    assert script.take("gpt-4o-mini", key_fingerprint("fake-key-A")) == Fault()
    assert script.take("gpt-4o", key_fingerprint("fake-key-B")) == Fault()


def test_times_limits_the_rule() -> None:
    script = FaultScript()
    script.add({"status": 503, "retry_after": 1}, model=None, api_key=None, times=2)
    assert script.take("m", None) == Fault(status=503, retry_after=1.0)
    assert script.take("m", None) == Fault(status=503, retry_after=1.0)
    assert script.take("m", None) == Fault()
    assert script.take("m", None) == Fault()


def test_times_zero_never_applies() -> None:
    script = FaultScript()
    script.add({"status": 503}, model=None, api_key=None, times=0)
    assert script.take("m", None) == Fault()


def test_non_matching_requests_do_not_use_up_times() -> None:
    script = FaultScript()
    script.add({"status": 500}, model="gpt-4o", api_key=None, times=1)
    assert script.take("other", None) == Fault()
    assert script.take("gpt-4o", None) == Fault(status=500)
    assert script.take("gpt-4o", None) == Fault()


def test_first_matching_rule_wins_then_the_next_when_exhausted() -> None:
    script = FaultScript()
    script.add({"status": 429}, model=None, api_key=None, times=1)
    script.add({"status": 500}, model=None, api_key=None, times=None)
    assert script.take("m", None) == Fault(status=429)
    assert script.take("m", None) == Fault(status=500)
    assert script.take("m", None) == Fault(status=500)


def test_script_fault_dict_accepts_aliases_and_bools() -> None:
    script = FaultScript()
    script.add({"stall_ms": 10, "noise": True, "garbage": False, "cut_after": 2}, None, None, None)
    assert script.take("m", None) == Fault(delay_ms=10, noise=True, cut_after=2)


def test_clear_removes_rules() -> None:
    script = FaultScript()
    script.add({"status": 500}, model=None, api_key=None, times=None)
    script.clear()
    assert script.take("m", None) == Fault()
    assert script.rules == []


def test_taken_fault_is_a_copy() -> None:
    script = FaultScript()
    script.add({"status": 500}, model=None, api_key=None, times=None)
    first = script.take("m", None)
    second = script.take("m", None)
    assert first == second
    assert first.is_empty is False
