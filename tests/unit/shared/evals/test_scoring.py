"""The eval scorers: exact, contains, regex (bounded) and the judge's verdict, all deterministic."""

from __future__ import annotations

import time

import pytest

from shared.evals.scoring import (
    MAX_PATTERN_CHARS,
    Score,
    check_pattern,
    judge_messages,
    parse_judge_verdict,
    score_contains,
    score_exact,
    score_regex,
)


def test_exact_compares_trimmed_text() -> None:
    assert score_exact("  Hello! You said: ping\n", "Hello! You said: ping") == Score(True, 1.0)
    assert score_exact("hello! you said: ping", "Hello! You said: ping") == Score(False, 0.0)
    assert score_exact("Hello!  You said: ping", "Hello! You said: ping").passed is False  # inner spaces count


def test_contains_is_case_sensitive_unless_asked() -> None:
    assert score_contains("Hello there", "Hello").passed
    assert not score_contains("Hello there", "hello").passed
    assert score_contains("Hello there", "hello", case_sensitive=False).passed
    assert score_contains("STRASSE", "straße", case_sensitive=False).passed  # casefold, not lower
    assert not score_contains("Goodbye", "hello", case_sensitive=False).passed


def test_regex_searches_and_honours_case() -> None:
    assert score_regex("The answer is 4.", r"\b4\b").passed
    assert not score_regex("The answer is 42.", r"\b4\b").passed
    assert not score_regex("HELLO", "^hello$").passed
    assert score_regex("HELLO", "^hello$", case_sensitive=False).passed


def test_a_catastrophic_pattern_is_stopped_not_run_to_completion() -> None:
    started = time.monotonic()
    result = score_regex("a" * 40 + "!", r"(a|aa)+$")
    assert time.monotonic() - started < 3
    assert result.passed is False
    assert result.error is not None and "stopped" in result.error


def test_patterns_are_bounded_and_must_compile() -> None:
    assert check_pattern("^ok$") is None
    assert "valid regular expression" in (check_pattern("(unclosed") or "")
    assert "at most" in (check_pattern("a" * (MAX_PATTERN_CHARS + 1)) or "")
    bad = score_regex("anything", "(unclosed")
    assert bad.passed is False and bad.error is not None


@pytest.mark.parametrize(
    ("answer", "passed", "score"),
    [
        ("The answer greets the user.\nVERDICT: PASS", True, 1.0),
        ("Not a greeting.\nverdict: fail", False, 0.0),
        ("Quoting the rubric: VERDICT: PASS when ... Decision:\nVERDICT: FAIL", False, 0.0),  # the last one wins
        ("Reasonable.\nSCORE: 0.8", True, 0.8),
        ("Weak.\nSCORE: 0.2", False, 0.2),
        ("Good.\nSCORE: 7/10", True, 0.7),
        ("Okay.\nSCORE = 3", False, 0.3),  # 0-10 without a denominator
    ],
)
def test_the_judge_verdict_is_parsed_deterministically(answer: str, passed: bool, score: float) -> None:
    result = parse_judge_verdict(answer)
    assert (result.passed, result.error) == (passed, None)
    assert result.score == pytest.approx(score)


@pytest.mark.parametrize("answer", ["I think it is fine.", "SCORE: 42", "SCORE: 3/0", "VERDICT: MAYBE"])
def test_a_judge_answer_without_a_usable_verdict_fails_with_a_reason(answer: str) -> None:
    result = parse_judge_verdict(answer)
    assert result.passed is False
    assert result.error is not None


def test_the_judge_prompt_carries_rubric_question_and_answer_but_no_parsable_verdict_of_its_own() -> None:
    system, user = judge_messages("Must greet.", "Say hi", "Hi there!")
    assert system["role"] == "system" and user["role"] == "user"
    assert user["content"].startswith("Rubric: Must greet.")
    assert "Say hi" in user["content"] and "Hi there!" in user["content"]
    # an echo of the instructions alone must not read as a verdict
    assert parse_judge_verdict(system["content"] + user["content"]).error is not None
