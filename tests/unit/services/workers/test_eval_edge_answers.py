"""Reading the edge's answer for an eval case: cost header to micro-dollars, message text."""

from __future__ import annotations

from services.workers.evals.edge_client import _cost_micros, _error_of, _text_of


def test_the_cost_header_becomes_integer_micro_dollars() -> None:
    assert _cost_micros("0.0000123400") == 12
    assert _cost_micros("0.0000125000") == 12  # banker's rounding of the half micro-dollar
    assert _cost_micros("1.5") == 1_500_000
    assert _cost_micros(None) is None
    assert _cost_micros("free") is None


def test_the_answer_text_is_the_first_choice_content() -> None:
    assert _text_of({"choices": [{"message": {"role": "assistant", "content": "hi"}}]}) == "hi"
    parts = {"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]}
    assert _text_of(parts) == "ab"
    assert _text_of({"choices": [{"message": {"content": None, "tool_calls": []}}]}) == ""
    assert _text_of({"choices": []}) is None
    assert _text_of(None) is None


def test_an_edge_error_is_described_with_its_status_and_message() -> None:
    body = {"error": {"message": "model not found", "code": "model_not_found"}}
    assert _error_of(404, body) == "the edge answered 404: model not found"
    assert _error_of(502, None) == "the edge answered 502"
