"""Every dialect the fake speaks: its JSON answer and its stream describe the same answer.

Checked through the gateway's own parser for that dialect (the fake itself never uses it), for a
table of conversations covering text, tools, tool results, thinking, JSON mode and truncation.
"""

from __future__ import annotations

import pytest

from services.fake_upstream.dialects import loaded
from services.fake_upstream.engine import Conversation, answer
from services.fake_upstream.faults import Fault
from shared.canonical.chat import Text, Thinking, ToolCall
from shared.canonical.events import fold
from shared.formats.registry import get_dialect
from tests.contract.fixtures import parse_stream

WEATHER = ("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})

CONVERSATIONS = {
    "text": Conversation(model="m", last_user_text="Hi there", texts=["Hi there"]),
    "tool_call": Conversation(model="m", last_user_text="Weather?", texts=["Weather?"], tools=[WEATHER]),
    "tool_results": Conversation(
        model="m", last_user_text="Weather?", texts=["Weather?", "18C"], tools=[WEATHER], tool_results=["18C"]
    ),
    "thinking": Conversation(model="m", last_user_text="Why?", texts=["Why?"], wants_thinking=True),
    "thinking_tool": Conversation(
        model="m", last_user_text="Weather?", texts=["Weather?"], tools=[WEATHER], wants_thinking=True
    ),
    "json_schema": Conversation(
        model="m",
        last_user_text="Person",
        texts=["Person"],
        json_schema={"type": "object", "properties": {"age": {"type": "integer"}}},
    ),
    "truncated": Conversation(model="m", last_user_text="one two three four five", texts=["x"], max_tokens=3),
}
MODULES = {module.__name__.rsplit(".", 1)[-1]: module for module in loaded()}
CASES = [(name, case) for name in MODULES for case in CONVERSATIONS]


@pytest.mark.parametrize(("dialect", "case"), CASES)
def test_json_and_stream_agree(dialect: str, case: str) -> None:
    conversation = CONVERSATIONS[case]
    fake = answer(conversation, Fault(tool_calls=2 if case == "tool_call" else None))
    wire = MODULES[dialect].WIRE
    parser = get_dialect(dialect)
    from_json = parser.parse_result(wire.json(conversation, fake))
    from_stream = fold(parse_stream(parser, b"".join(wire.frames(conversation, fake))))
    assert from_stream == from_json
    kinds = [type(part) for part in from_json.content]
    if case in ("tool_call", "thinking_tool"):
        assert ToolCall in kinds
        assert from_json.stop_reason == "tool_use"
    if case == "tool_call":
        assert len(from_json.tool_calls) == 2
        assert from_json.tool_calls[0].arguments.replace(" ", "") == '{"city":"Paris"}'
    if case.startswith("thinking") and "thinking" in parser.carries:
        assert kinds[0] is Thinking
    if case == "truncated":
        assert from_json.stop_reason == "max_tokens"
        assert from_json.text == "Hello! You said:"
    if case == "tool_results":
        assert from_json.text == "Tool results: 18C"
    assert from_json.usage.input_tokens == fake.input_tokens
    assert all(isinstance(p, Text | Thinking | ToolCall) for p in from_json.content)


def test_answers_are_deterministic() -> None:
    conversation = CONVERSATIONS["tool_call"]
    assert answer(conversation, Fault()) == answer(conversation, Fault())
