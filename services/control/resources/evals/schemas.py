"""Wire shapes of /api/evals: suites with their cases, runs and their per-case results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "CaseCreate",
    "CaseView",
    "ContentPart",
    "EvalsOverview",
    "Message",
    "ResultView",
    "RunDetail",
    "RunStart",
    "RunView",
    "SuiteCreate",
    "SuiteDetail",
    "SuiteSummary",
]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(max_length=100_000)]
ModelName = Annotated[str, Meta(min_length=1, max_length=256)]
Scoring = Literal["exact", "contains", "regex", "judge"]
Role = Literal["system", "developer", "user", "assistant", "tool"]


class ImageUrl(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    url: Annotated[str, Meta(min_length=1, max_length=10_000_000)]
    detail: Literal["auto", "low", "high"] | None = None


class ContentPart(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """An OpenAI content part: `{"type": "text", "text"}` or `{"type": "image_url", "image_url": {"url"}}`."""

    type: Literal["text", "image_url"]
    text: Text | None = None
    image_url: ImageUrl | None = None


class Message(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One OpenAI chat message."""

    role: Role
    content: Text | Annotated[list[ContentPart], Meta(min_length=1, max_length=100)]
    name: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    tool_call_id: Annotated[str, Meta(min_length=1, max_length=128)] | None = None


class CaseCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    messages: Annotated[list[Message], Meta(min_length=1, max_length=100)]
    scoring: Scoring
    name: Annotated[str, Meta(max_length=200)] = ""
    expected: Text | None = None  # exact / contains text, or the regex pattern
    case_sensitive: bool = True  # contains and regex
    rubric: Annotated[str, Meta(min_length=1, max_length=20_000)] | None = None  # judge
    max_tokens: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None


class SuiteCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    name: Name
    description: Annotated[str, Meta(max_length=2_000)] = ""
    cases: Annotated[list[CaseCreate], Meta(min_length=1, max_length=1_000)]


class RunStart(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Start a run: the suite by id or by name, and the model (alias, combo or provider/model)."""

    model: ModelName
    suite_id: uuid.UUID | None = None
    suite: Name | None = None
    judge_model: ModelName | None = None  # for judge cases; defaults to `model`
    concurrency: Annotated[int, Meta(ge=1, le=32)] = 4


class CaseView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    position: int
    name: str
    messages: list[dict[str, Any]]
    scoring: str
    expected: str | None
    case_sensitive: bool
    rubric: str | None
    max_tokens: int | None
    temperature: float | None


class SuiteSummary(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    name: str
    description: str
    built_in: bool
    case_count: int
    created_at: datetime


class SuiteDetail(SuiteSummary, kw_only=True, rename="camel"):
    cases: list[CaseView]


class RunView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    suite_id: str
    suite: str
    model: str
    judge_model: str | None
    concurrency: int
    status: str
    case_count: int
    completed_count: int
    passed_count: int
    failed_count: int
    error_count: int
    pass_rate: float | None
    avg_latency_ms: float | None
    tokens_in: int
    tokens_out: int
    cost_micros: int
    judge_cost_micros: int
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ResultView(msgspec.Struct, kw_only=True, rename="camel"):
    case_id: str
    position: int
    name: str
    scoring: str
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


class RunDetail(RunView, kw_only=True, rename="camel"):
    results: list[ResultView]


class EvalsOverview(msgspec.Struct, kw_only=True):
    suites: list[SuiteSummary]
    runs: list[RunView]
