"""The fake upstream's deterministic OpenAI Chat answers, JSON and SSE."""

from __future__ import annotations

from typing import Any

import pytest

from services.fake_upstream.openai_chat import build_answer, completion_body, last_user_text, stream_events
from shared import jsonx
from shared.formats.openai_chat.outbound import parse_usage
from shared.formats.openai_chat.stream import OpenAIStreamRelay

CREATED = 1_700_000_000
BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "  tell   me\n a  joke "},
    ],
}


def completion(body: dict[str, Any], words: int | None = None) -> dict[str, Any]:
    result = jsonx.loads(completion_body(build_answer(body, words, CREATED)))
    assert isinstance(result, dict)
    return result


def fold(events: list[bytes]) -> str:
    text = ""
    for raw in events[:-1]:
        chunk = jsonx.loads(raw)
        for choice in chunk["choices"]:
            text += choice["delta"].get("content") or ""
    return text


def test_build_answer_is_deterministic() -> None:
    first = build_answer(BODY, None, CREATED)
    second = build_answer(dict(BODY), None, CREATED)
    assert first.completion_id == second.completion_id
    assert first.text == second.text
    assert first.pieces == second.pieces
    assert first.prompt_tokens == second.prompt_tokens
    assert completion_body(first) == completion_body(second)
    assert stream_events(first, True) == stream_events(second, True)


def test_different_messages_give_a_different_id() -> None:
    other = {**BODY, "messages": [{"role": "user", "content": "something else"}]}
    assert build_answer(BODY, None, CREATED).completion_id != build_answer(other, None, CREATED).completion_id


def test_answer_echoes_the_last_user_message_normalised() -> None:
    answer = build_answer(BODY, None, CREATED)
    assert answer.text == "Hello! You said: tell me a joke"
    assert answer.model == "gpt-4o-mini"
    assert answer.completion_id.startswith("chatcmpl-")


def test_answer_without_a_user_message() -> None:
    assert build_answer({"model": "m", "messages": [{"role": "system", "content": "x"}]}, None, CREATED).text == (
        "Hello!"
    )
    assert build_answer({"model": "m"}, None, CREATED).text == "Hello!"


def test_content_parts_are_read() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "image_url"}, "x"]}]
    assert last_user_text(messages) == "part one "
    assert build_answer({"model": "m", "messages": messages}, None, CREATED).text == "Hello! You said: part one"


@pytest.mark.parametrize(("words", "count"), [(1, 1), (5, 5), (40, 40), (0, 1), (-3, 1)])
def test_words_sets_the_answer_length(words: int, count: int) -> None:
    answer = build_answer(BODY, words, CREATED)
    assert len(answer.text.split(" ")) == count
    assert answer.completion_tokens == count


def test_completion_body_shape() -> None:
    body = completion(BODY)
    assert body["object"] == "chat.completion"
    assert body["created"] == CREATED
    assert body["model"] == "gpt-4o-mini"
    [choice] = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == len(choice["message"]["content"].split(" "))


@pytest.mark.parametrize("include_usage", [True, False])
@pytest.mark.parametrize("words", [None, 1, 7])
def test_stream_folds_to_the_completion_content(include_usage: bool, words: int | None) -> None:
    answer = build_answer(BODY, words, CREATED)
    events = stream_events(answer, include_usage)
    assert fold(events) == completion(BODY, words)["choices"][0]["message"]["content"]


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_event_order(include_usage: bool) -> None:
    answer = build_answer(BODY, None, CREATED)
    events = stream_events(answer, include_usage)
    assert events[-1] == b"[DONE]"
    assert events.count(b"[DONE]") == 1
    chunks = [jsonx.loads(raw) for raw in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk["id"] == answer.completion_id for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content_chunks = [c for c in chunks if c["choices"]]
    assert content_chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in content_chunks[:-1])
    assert len(content_chunks) == len(answer.pieces) + 2


def test_usage_chunk_only_with_include_usage() -> None:
    answer = build_answer(BODY, None, CREATED)
    with_usage = [jsonx.loads(raw) for raw in stream_events(answer, True)[:-1]]
    usage_chunk = with_usage[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == completion(BODY)["usage"]
    assert all("usage" in chunk and chunk["usage"] is None for chunk in with_usage[:-1])

    without = [jsonx.loads(raw) for raw in stream_events(answer, False)[:-1]]
    assert all("usage" not in chunk for chunk in without)
    assert all(chunk["choices"] for chunk in without)
    assert len(without) == len(with_usage) - 1


@pytest.mark.parametrize("wants_usage", [True, False])
def test_fake_stream_through_the_relay(wants_usage: bool) -> None:
    answer = build_answer(BODY, 12, CREATED)
    events = stream_events(answer, include_usage=True)
    upstream = b"".join(b": keep-alive\nid: 1\ndata: " + event + b"\n\n" for event in events)
    relay = OpenAIStreamRelay(wants_usage)
    out = relay.feed(upstream) + relay.finish()
    assert relay.done is True
    assert relay.error is None
    assert relay.usage == parse_usage(answer.usage())
    forwarded = [event for event in events if wants_usage or b'"choices":[]' not in event]
    assert out == b"".join(b"data: " + event + b"\n\n" for event in forwarded)
