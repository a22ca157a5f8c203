"""What the gateway renders for a Responses client, read by the official `openai` SDK itself.

The SDK's stream helper accumulates the events into the final response (it raises when an event
comes out of the order it relies on); `responses.create` reads the JSON body into its typed models.
Answers recorded from OpenAI's two APIs are used here; the contract matrix covers the other dialects.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import UpstreamError
from shared.canonical.events import BlockStart, Failure, Start, TextDelta
from shared.formats.openai_responses import DIALECT
from shared.formats.registry import get_dialect
from tests.contract.fixtures import ResultFixture, parse_stream, result_fixtures

REQUEST = ChatRequest(model="client-model", messages=(Message("user", (Text("hi"),)),), stream=True)
FIXTURES = [fixture for name in ("openai_responses", "openai_chat") for fixture in result_fixtures(name)]


def client(body: bytes, media_type: str) -> openai.OpenAI:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": media_type})

    transport = httpx.Client(transport=httpx.MockTransport(answer))
    return openai.OpenAI(api_key="test", base_url="http://gateway.test/v1", http_client=transport, max_retries=0)


def rendered_stream(fixture: ResultFixture) -> bytes:
    renderer = DIALECT.stream_renderer(REQUEST)
    return b"".join(renderer.render(e) for e in parse_stream(get_dialect(fixture.dialect), fixture.stream))


@pytest.mark.parametrize("fixture", FIXTURES, ids=str)
def test_the_sdk_accumulates_the_rendered_stream(fixture: ResultFixture) -> None:
    expected = get_dialect(fixture.dialect).parse_result(fixture.response)
    with client(rendered_stream(fixture), "text/event-stream").responses.stream(model="m", input="hi") as stream:
        events = list(stream)
        final = stream.get_final_response() if events[-1].type == "response.completed" else events[-1].response  # type: ignore[union-attr]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert final.output_text == expected.text
    calls = [(item.call_id, item.name, item.arguments) for item in final.output if item.type == "function_call"]
    assert calls == [(call.id, call.name, call.arguments) for call in expected.tool_calls]
    assert final.usage is None or final.usage.total_tokens == expected.usage.input_tokens + expected.usage.output_tokens


@pytest.mark.parametrize("fixture", FIXTURES, ids=str)
def test_the_sdk_reads_the_rendered_json(fixture: ResultFixture) -> None:
    expected = get_dialect(fixture.dialect).parse_result(fixture.response)
    body = DIALECT.render_result(expected, REQUEST)
    response = client(body, "application/json").responses.create(model="m", input="hi")
    assert (response.id, response.model, response.output_text) == (expected.id, expected.model, expected.text)


def test_a_failed_stream_gives_the_sdk_no_final_response() -> None:
    renderer = DIALECT.stream_renderer(REQUEST)
    events = [Start("resp_1", "m"), BlockStart(0, "text"), TextDelta(0, "Hel"), Failure(UpstreamError("boom"))]
    wire = b"".join(renderer.render(event) for event in events)
    with client(wire, "text/event-stream").responses.stream(model="m", input="hi") as stream:
        types = [event.type for event in stream]
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            stream.get_final_response()
    assert types[-2:] == ["error", "response.failed"]
