"""Signatures only ever go back to the provider that issued them; the replay records keep them."""

from __future__ import annotations

from services.edge.pipeline.replay import _restored, records_for
from services.edge.pipeline.signatures import SignatureTagger, attribute, keep_for, tag_result
from shared.canonical.chat import ChatRequest, Message, Text, Thinking, ToolCall, ToolResult
from shared.canonical.events import BlockStart, BlockStop, SignatureDelta
from shared.canonical.result import ChatResult


def history(*assistant: object) -> ChatRequest:
    return ChatRequest(
        model="m",
        messages=(
            Message("user", (Text("weather?"),)),
            Message("assistant", tuple(assistant)),  # type: ignore[arg-type]
            Message("tool", (ToolResult(tool_call_id="c1", content=(Text("18C"),)),)),
        ),
    )


def assistant(request: ChatRequest) -> tuple[object, ...]:
    return request.messages[1].content


def test_tags_round_trip_through_a_client_of_another_dialect() -> None:
    result = ChatResult(
        id="r", model="m", content=(Thinking("plan", signature="gsig"), ToolCall("c1", "f", "{}", "tsig"))
    )
    shown = tag_result(result, "gemini")
    assert shown.content == (
        Thinking("plan", signature="omni:gemini:gsig"),
        ToolCall("c1", "f", "{}", "omni:gemini:tsig"),
    )
    back = attribute(history(*shown.content), "anthropic")
    assert assistant(back) == (
        Thinking("plan", signature="gsig", origin="gemini"),
        ToolCall("c1", "f", "{}", "tsig", origin="gemini"),
    )
    assert assistant(keep_for(back, "gemini")) == assistant(back)


def test_foreign_signatures_are_dropped_before_another_provider() -> None:
    request = attribute(
        history(
            Thinking("plan", signature="omni:gemini:g"),
            Thinking("", redacted="omni:gemini:x"),
            ToolCall("c1", "f", "{}", "omni:gemini:t"),
        ),
        "openai_chat",
    )
    kept = assistant(keep_for(request, "anthropic"))
    assert kept == (Thinking("plan"), ToolCall("c1", "f", "{}"))


def test_untagged_signatures_belong_to_the_clients_own_dialect() -> None:
    request = attribute(history(Thinking("plan", signature="native"), ToolCall("c1", "f", "{}")), "anthropic")
    assert assistant(request)[0] == Thinking("plan", signature="native", origin="anthropic")
    assert assistant(keep_for(request, "anthropic"))[0] == Thinking("plan", signature="native", origin="anthropic")
    assert assistant(keep_for(request, "gemini"))[0] == Thinking("plan")


def test_streamed_signatures_are_tagged_once_per_block() -> None:
    tagger = SignatureTagger("anthropic")
    events = tagger.apply(
        [
            BlockStart(0, "thinking"),
            SignatureDelta(0, "ab"),
            SignatureDelta(0, "cd"),
            BlockStop(0),
            BlockStart(1, "thinking", redacted="blob"),
            BlockStop(1),
        ]
    )
    assert events[1] == SignatureDelta(0, "omni:anthropic:ab")
    assert events[2] == SignatureDelta(0, "cd")
    assert events[4] == BlockStart(1, "thinking", redacted="omni:anthropic:blob")


def test_replay_records_restore_thinking_and_call_signatures() -> None:
    answer = (Thinking("plan", signature="s1"), ToolCall("c1", "f", "{}", "t1"), ToolCall("c2", "g", "{}", "t2"))
    records = records_for(answer, "gemini")
    assert set(records) == {"c1", "c2"}
    assert records["c1"].thinking == (Thinking("plan", signature="s1", origin="gemini"),)
    assert records["c2"].thinking == ()
    echoed = Message(
        "assistant", (Thinking("plan"), Text("calling"), ToolCall("c1", "f", "{}"), ToolCall("c2", "g", "{}"))
    )
    restored = _restored(echoed, records)
    assert restored.content == (
        Thinking("plan", signature="s1", origin="gemini"),
        Text("calling"),
        ToolCall("c1", "f", "{}", "t1", origin="gemini"),
        ToolCall("c2", "g", "{}", "t2", origin="gemini"),
    )
