"""Deterministic scorers: exact, contains, regex (time- and size-bounded) and the judge's verdict.

Every scorer answers a `Score`: whether the case passed, a score in [0, 1], and why it failed when
the scorer itself could not decide (a pattern that ran out of time, a judge without a verdict).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import regex

__all__ = [
    "MAX_PATTERN_CHARS",
    "MAX_SCORED_CHARS",
    "PASS_SCORE",
    "REGEX_TIMEOUT_SECONDS",
    "Score",
    "check_pattern",
    "judge_messages",
    "parse_judge_verdict",
    "score_contains",
    "score_exact",
    "score_regex",
]

MAX_PATTERN_CHARS = 1_000
MAX_SCORED_CHARS = 100_000  # outputs longer than this are scored on their first 100k characters
REGEX_TIMEOUT_SECONDS = 0.25  # the `regex` engine checks this while matching: no catastrophic backtracking
PASS_SCORE = 0.5  # a judge's numeric score passes at or above this

# The verdict line a judge ends with. Matched case-insensitively; the last one in the answer wins,
# so a judge that quotes the rubric before deciding is read by its decision.
_VERDICT = regex.compile(
    r"\b(?:VERDICT\s*[:=]\s*(?P<verdict>PASS|FAIL)\b|SCORE\s*[:=]\s*(?P<num>\d+(?:\.\d+)?)(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?)",
    regex.IGNORECASE,
)

_JUDGE_SYSTEM = (
    "You are a strict evaluator of an AI assistant's answer. Read the rubric, the question and the "
    "candidate answer. Reply with one short sentence of reasoning, then a final line that is exactly "
    "the word VERDICT, a colon, and PASS or FAIL (or the word SCORE, a colon, and a number from 0 to 1)."
)


@dataclass(frozen=True, slots=True)
class Score:
    passed: bool
    score: float
    error: str | None = None


def _verdict(passed: bool) -> Score:
    return Score(passed, 1.0 if passed else 0.0)


def score_exact(output: str, expected: str) -> Score:
    """Equal after trimming surrounding whitespace."""
    return _verdict(output.strip() == expected.strip())


def score_contains(output: str, expected: str, case_sensitive: bool = True) -> Score:
    text = output[:MAX_SCORED_CHARS]
    if case_sensitive:
        return _verdict(expected in text)
    return _verdict(expected.casefold() in text.casefold())


def check_pattern(pattern: str, case_sensitive: bool = True) -> str | None:
    """Why a pattern cannot be used (too long, does not compile), or None when it can."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"must be at most {MAX_PATTERN_CHARS} characters"
    try:
        regex.compile(pattern, 0 if case_sensitive else regex.IGNORECASE)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        return f"is not a valid regular expression ({str(exc)[:120]})"
    return None


def score_regex(output: str, pattern: str, case_sensitive: bool = True) -> Score:
    """`search` semantics (anchor with ^ and $ for a full match), bounded in time and input size."""
    problem = check_pattern(pattern, case_sensitive)
    if problem is not None:
        return Score(False, 0.0, f"pattern {problem}")
    compiled = regex.compile(pattern, 0 if case_sensitive else regex.IGNORECASE)
    try:
        found = compiled.search(output[:MAX_SCORED_CHARS], timeout=REGEX_TIMEOUT_SECONDS)
    except TimeoutError:
        return Score(False, 0.0, f"pattern ran longer than {REGEX_TIMEOUT_SECONDS} s and was stopped")
    return _verdict(found is not None)


def judge_messages(rubric: str, question: str, answer: str) -> list[dict[str, str]]:
    """What the judge model is asked: instructions as the system message, the material as the user's."""
    user = f"Rubric: {rubric}\n\nQuestion: {question}\n\nCandidate answer: {answer}"
    return [{"role": "system", "content": _JUDGE_SYSTEM}, {"role": "user", "content": user}]


def _numeric(num: str, den: str | None) -> float | None:
    try:
        value = Decimal(num)
        if den is not None:
            denominator = Decimal(den)
            if denominator == 0:
                return None
            value = value / denominator
        elif value > 1 and value <= 10:
            value = value / 10  # "SCORE: 7" read as 7 out of 10
    except (InvalidOperation, ArithmeticError):
        return None
    return float(value) if 0 <= value <= 1 else None


def parse_judge_verdict(text: str) -> Score:
    """The last `VERDICT: PASS|FAIL` or `SCORE: x` (x in [0, 1], `n/d`, or 0-10) in the judge's answer."""
    try:
        matches = list(_VERDICT.finditer(text[:MAX_SCORED_CHARS], timeout=REGEX_TIMEOUT_SECONDS))
    except TimeoutError:
        matches = []
    last = matches[-1] if matches else None
    if last is None:
        return Score(False, 0.0, "the judge's answer has no VERDICT or SCORE line")
    if last.group("verdict"):
        return _verdict(last.group("verdict").upper() == "PASS")
    value = _numeric(last.group("num"), last.group("den"))
    if value is None:
        return Score(False, 0.0, "the judge's SCORE is not a number between 0 and 1 (or n/d)")
    return Score(value >= PASS_SCORE, value)
