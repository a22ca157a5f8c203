"""Gemini answers: usage conversion, finish reasons, synthesised call ids, what is not an answer."""

from __future__ import annotations

from typing import Any

import pytest

from shared import jsonx
from shared.canonical.errors import UpstreamError
from shared.canonical.usage import Usage
from shared.formats.gemini.outbound import parse_result
from shared.formats.gemini.usage import parse_usage, usage_body

# --- usage and answers --------------------------------------------------------------------------


def test_usage_follows_the_canonical_convention() -> None:
    metadata = {
        "promptTokenCount": 2048,
        "candidatesTokenCount": 44,
        "toolUsePromptTokenCount": 12,
        "thoughtsTokenCount": 256,
        "cachedContentTokenCount": 1920,
        "totalTokenCount": 2360,
    }
    usage = parse_usage(metadata)
    assert usage == Usage(input_tokens=2060, output_tokens=300, cached_tokens=1920, reasoning_tokens=256, reported=True)
    assert parse_usage(usage_body(usage)) == usage


@pytest.mark.parametrize("metadata", [None, [], "x"])
def test_missing_usage_is_not_reported(metadata: Any) -> None:
    assert parse_usage(metadata) == Usage()


def test_zero_counts_may_be_absent() -> None:
    assert parse_usage({"promptTokenCount": 3, "totalTokenCount": 3}) == Usage(input_tokens=3, reported=True)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'{"modelVersion": "m"}', b'{"candidates": {}}'])
def test_parse_result_rejects_what_is_not_an_answer(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as info:
        parse_result(raw)
    assert info.value.code == "upstream_bad_response"


def test_parse_result_of_an_error_body() -> None:
    raw = jsonx.dumps({"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}})
    with pytest.raises(UpstreamError, match="Internal error encountered"):
        parse_result(raw)


def test_a_blocked_prompt_is_a_content_filter_stop() -> None:
    raw = jsonx.dumps(
        {
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
            "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "r1",
        }
    )
    result = parse_result(raw)
    assert (result.content, result.stop_reason, result.usage.input_tokens) == ((), "content_filter", 8)


@pytest.mark.parametrize(
    ("finish", "calls", "stop"),
    [
        ("STOP", False, "end"),
        ("STOP", True, "tool_use"),
        ("MAX_TOKENS", True, "max_tokens"),
        ("SAFETY", False, "content_filter"),
        ("RECITATION", False, "content_filter"),
        ("MALFORMED_FUNCTION_CALL", False, "error"),
        ("OTHER", False, "error"),
        ("SOMETHING_NEW", False, "end"),
    ],
)
def test_finish_reasons(finish: str, calls: bool, stop: str) -> None:
    parts: list[dict[str, Any]] = [{"text": "x"}]
    if calls:
        parts.append({"functionCall": {"name": "f", "args": {}}})
    raw = jsonx.dumps({"candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": finish}]})
    assert parse_result(raw).stop_reason == stop


def test_only_the_first_candidate_is_read() -> None:
    raw = jsonx.dumps(
        {
            "candidates": [
                {"content": {"parts": [{"text": "second"}]}, "finishReason": "STOP", "index": 1},
                {"content": {"parts": [{"text": "first"}]}, "finishReason": "STOP", "index": 0},
            ]
        }
    )
    assert parse_result(raw).text == "first"


def test_synthesised_call_ids_are_stable_and_distinct() -> None:
    def answer(response_id: str) -> bytes:
        parts = [{"functionCall": {"name": "f", "args": {"x": 1}}}, {"functionCall": {"name": "f", "args": {"x": 1}}}]
        return jsonx.dumps(
            {"candidates": [{"content": {"parts": parts}, "finishReason": "STOP"}], "responseId": response_id}
        )

    first = [c.id for c in parse_result(answer("r1")).tool_calls]
    assert first == [c.id for c in parse_result(answer("r1")).tool_calls]
    assert len(set(first)) == 2
    assert set(first).isdisjoint(c.id for c in parse_result(answer("r2")).tool_calls)
    assert all(i.startswith("call_") for i in first)
