"""The fake Anthropic upstream: it reads what the gateway builds, and serves the real routes and error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.fake_upstream.app import create_app
from services.fake_upstream.dialects.anthropic import read_conversation
from services.fake_upstream.engine import answer
from services.fake_upstream.faults import Fault
from shared import jsonx
from shared.canonical.chat import ChatRequest, Image, Message, ReasoningConfig, Text, ToolSpec
from shared.canonical.events import fold
from shared.formats.anthropic import DIALECT
from shared.formats.anthropic.outbound import build_request
from shared.formats.base import BuildOptions, RequestContext
from tests.contract.fixtures import parse_stream

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "anthropic" / "requests"
OPTIONS = BuildOptions(model="claude-fake")


def built(scenario: str) -> dict[str, object]:
    request = DIALECT.parse_request((FIXTURES / f"{scenario}.json").read_bytes(), RequestContext()).request
    body: dict[str, object] = jsonx.loads(build_request(request, OPTIONS).body)
    return body


def test_the_fake_reads_a_built_request() -> None:
    request = ChatRequest(
        model="m",
        messages=(
            Message("system", (Text("Be terse."),)),
            Message("user", (Text("What is this?"), Image(url="https://x/cat.png"))),
        ),
        tools=(ToolSpec("get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}}),),
        reasoning=ReasoningConfig(enabled=True, budget_tokens=2048),
        max_tokens=50,
    )
    conversation = read_conversation(jsonx.loads(build_request(request, OPTIONS).body))
    assert conversation.model == "claude-fake"
    assert conversation.last_user_text == "What is this?"
    assert conversation.texts == ["Be terse.", "What is this?"]
    assert conversation.images == 1
    assert conversation.tools == [("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}})]
    assert conversation.wants_thinking is True
    assert conversation.max_tokens == 50


def test_the_fake_answers_tool_results() -> None:
    conversation = read_conversation(built("tool_results"))
    assert conversation.tool_results == ["18C, cloudy", "24C, sunny"]
    assert conversation.last_user_text == "Weather in Paris and Tokyo?"
    assert answer(conversation, Fault()).text == "Tool results: 18C, cloudy; 24C, sunny"


def test_the_fake_reads_json_outputs_both_spellings() -> None:
    schema = built("json_schema")["output_config"]["format"]["schema"]  # type: ignore[index]
    assert read_conversation(built("json_schema")).json_schema == schema
    legacy = {"model": "m", "messages": [], "output_format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert read_conversation(legacy).json_schema == {"type": "object"}


@pytest.fixture
async def fake() -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async with TestClient(TestServer(create_app())) as client:
        yield client


HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}
BODY = {"model": "claude-fake", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi there"}]}


async def test_messages_json_and_stream(fake: TestClient) -> None:  # type: ignore[type-arg]
    plain = await fake.post("/v1/messages", data=jsonx.dumps(BODY), headers=HEADERS)
    assert plain.status == 200
    result = DIALECT.parse_result(await plain.read())
    assert result.text == "Hello! You said: Hi there"
    streamed = await fake.post("/v1/messages", data=jsonx.dumps({**BODY, "stream": True}), headers=HEADERS)
    assert streamed.headers["Content-Type"].startswith("text/event-stream")
    assert fold(parse_stream(DIALECT, await streamed.read())) == result


async def test_count_tokens(fake: TestClient) -> None:  # type: ignore[type-arg]
    body = {key: value for key, value in BODY.items() if key != "max_tokens"}
    response = await fake.post("/v1/messages/count_tokens", data=jsonx.dumps(body), headers=HEADERS)
    assert response.status == 200
    assert jsonx.loads(await response.read()) == {"input_tokens": 5}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (jsonx.dumps({"model": "m", "max_tokens": 5}), "messages"),
        (jsonx.dumps({"max_tokens": 5, "messages": []}), "model"),
        (jsonx.dumps({"model": "m", "messages": []}), "max_tokens"),
    ],
)
async def test_bad_requests_get_anthropic_errors(fake: TestClient, body: bytes, message: str) -> None:  # type: ignore[type-arg]
    response = await fake.post("/v1/messages", data=body, headers=HEADERS)
    assert response.status == 400
    error = jsonx.loads(await response.read())
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert message in error["error"]["message"]


@pytest.mark.parametrize(("status", "kind"), [(529, "overloaded_error"), (429, "rate_limit_error"), (500, "api_error")])
async def test_scripted_failures(fake: TestClient, status: int, kind: str) -> None:  # type: ignore[type-arg]
    headers = {**HEADERS, "X-Fake-Fault": f"status={status}; retry_after=3"}
    response = await fake.post("/v1/messages", data=jsonx.dumps(BODY), headers=headers)
    assert response.status == status
    error = DIALECT.classify_error(status, {k.lower(): v for k, v in response.headers.items()}, await response.read())
    assert error.retryable is True
    assert jsonx.loads(await response.read())["error"]["type"] == kind


async def test_an_in_band_error(fake: TestClient) -> None:  # type: ignore[type-arg]
    body = jsonx.dumps({**BODY, "stream": True})
    errored = await fake.post("/v1/messages", data=body, headers={**HEADERS, "X-Fake-Fault": "upstream_error_after=3"})
    events = parse_stream(DIALECT, await errored.read())
    assert events[-1].error.code == "upstream_stream_error"  # type: ignore[union-attr]
