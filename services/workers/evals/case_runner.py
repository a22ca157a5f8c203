"""One case: ask the model through the edge, score the answer (asking the judge model when the case
is judged), and return the row to store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.workers.evals.edge_client import EdgeAnswer, EdgeClient
from shared.evals.scoring import (
    Score,
    judge_messages,
    parse_judge_verdict,
    score_contains,
    score_exact,
    score_regex,
)

__all__ = ["CaseResult", "EvalCase", "run_case"]

_JUDGE_MAX_TOKENS = 512
_MAX_STORED_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class EvalCase:
    id: str
    position: int
    messages: list[dict[str, Any]]
    scoring: str
    expected: str | None
    case_sensitive: bool
    rubric: str | None
    max_tokens: int | None
    temperature: float | None


@dataclass(frozen=True, slots=True)
class CaseResult:
    case_id: str
    position: int
    started_at: datetime
    output: str | None
    passed: bool
    score: float | None
    latency_ms: float | None
    tokens_in: int | None
    tokens_out: int | None
    cost_micros: int | None
    judge_output: str | None
    judge_cost_micros: int | None
    request_id: str | None
    error: str | None


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _request(model: str, case: EvalCase) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": case.messages, "stream": False}
    if case.max_tokens is not None:
        body["max_tokens"] = case.max_tokens
    if case.temperature is not None:
        body["temperature"] = case.temperature
    return body


def _score(case: EvalCase, output: str) -> Score:
    expected = case.expected or ""
    if case.scoring == "exact":
        return score_exact(output, expected)
    if case.scoring == "contains":
        return score_contains(output, expected, case.case_sensitive)
    return score_regex(output, expected, case.case_sensitive)


async def _judge(
    client: EdgeClient, key: str, judge_model: str, case: EvalCase, output: str
) -> tuple[Score, EdgeAnswer]:
    messages = judge_messages(case.rubric or "", _last_user_text(case.messages), output)
    body = {
        "model": judge_model,
        "messages": messages,
        "stream": False,
        "temperature": 0,
        "max_tokens": _JUDGE_MAX_TOKENS,
    }
    answer = await client.chat(key, body)
    if answer.error is not None or answer.text is None:
        return Score(False, 0.0, f"judge: {answer.error or 'no answer text'}"), answer
    return parse_judge_verdict(answer.text), answer


async def run_case(client: EdgeClient, key: str, model: str, judge_model: str, case: EvalCase) -> CaseResult:
    started_at = datetime.now(UTC)
    answer = await client.chat(key, _request(model, case))
    judge_output: str | None = None
    judge_cost: int | None = None
    if answer.error is not None:
        score = Score(False, 0.0, answer.error)
    elif answer.text is None:
        score = Score(False, 0.0, "the edge's answer has no message content")
    elif case.scoring == "judge":
        score, judged = await _judge(client, key, judge_model, case, answer.text)
        judge_output = judged.text[:_MAX_STORED_CHARS] if judged.text is not None else None
        judge_cost = judged.cost_micros
    else:
        score = _score(case, answer.text)
    return CaseResult(
        case_id=case.id,
        position=case.position,
        started_at=started_at,
        output=answer.text[:_MAX_STORED_CHARS] if answer.text is not None else None,
        passed=score.passed,
        score=score.score,
        latency_ms=answer.latency_ms,
        tokens_in=answer.tokens_in,
        tokens_out=answer.tokens_out,
        cost_micros=answer.cost_micros,
        judge_output=judge_output,
        judge_cost_micros=judge_cost,
        request_id=answer.request_id,
        error=score.error,
    )
