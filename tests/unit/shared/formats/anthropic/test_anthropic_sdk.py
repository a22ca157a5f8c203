"""The official `anthropic` SDK against the dialect, in-process (a mock transport, no network).

The client side must read what the SDK sends and write what the SDK reads (answers, streams,
errors, token counts); the fake upstream's Anthropic wire must be readable by the SDK too, since
it stands in for the real API in every other test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import anthropic
import pytest

from services.fake_upstream.dialects.anthropic import WIRE
from services.fake_upstream.engine import Conversation, answer
from services.fake_upstream.faults import Fault
from shared import jsonx
from shared.canonical.chat import ChatRequest, ReasoningConfig, ResponseFormat, ToolChoice
from shared.canonical.errors import GatewayError, NotFound, RateLimited, ServiceUnavailable
from shared.canonical.events import explode
from shared.canonical.result import ChatResult
from shared.formats.anthropic import DIALECT
from shared.formats.anthropic.inbound import parse_count_request, render_count
from shared.formats.base import RequestContext
from tests.contract.fixtures import result_fixtures

# The SDK's HTTP library: httpx2 in current releases, httpx in older ones.
_base: Any = importlib.import_module("anthropic._base_client")
HTTP: ModuleType = importlib.import_module("httpx2" if hasattr(_base, "httpx2") else "httpx")
RESULTS = {fixture.scenario: fixture for fixture in result_fixtures("anthropic")}

Handler = Callable[[Any], Any]


def client(handler: Handler) -> anthropic.Anthropic:
    http = HTTP.Client(transport=HTTP.MockTransport(handler))
    return anthropic.Anthropic(api_key="sk-test", base_url="http://gateway", http_client=http, max_retries=0)


class Gateway:
    """The client side of the dialect behind a mock transport: parse, then answer with `result`."""

    def __init__(self, result: ChatResult | None = None, error: GatewayError | None = None) -> None:
        self.result = result
        self.error = error
        self.requests: list[ChatRequest] = []

    def __call__(self, http_request: Any) -> Any:
        context = RequestContext(headers=dict(http_request.headers))
        if http_request.url.path == "/v1/messages/count_tokens":
            self.requests.append(parse_count_request(http_request.content, context).request)
            return HTTP.Response(200, content=render_count(2095), headers={"content-type": "application/json"})
        request = DIALECT.parse_request(http_request.content, context).request
        self.requests.append(request)
        if self.error is not None:
            return HTTP.Response(self.error.status, content=DIALECT.render_error(self.error))
        assert self.result is not None
        if request.stream:
            renderer = DIALECT.stream_renderer(request)
            wire = b"".join(renderer.render(event) for event in explode(self.result))
            return HTTP.Response(200, content=wire, headers={"content-type": "text/event-stream"})
        body = DIALECT.render_result(self.result, request)
        return HTTP.Response(200, content=body, headers={"content-type": "application/json"})


def expected_message(scenario: str) -> dict[str, Any]:
    body: dict[str, Any] = jsonx.loads(RESULTS[scenario].response)
    body["usage"] = {
        k: v for k, v in body["usage"].items() if k not in ("cache_creation", "service_tier")
    }  # what the dialect does not carry
    return body


def dump(message: Any) -> dict[str, Any]:
    body: dict[str, Any] = message.model_dump(exclude_none=True)
    for block in body["content"]:
        block.pop("caller", None)
        block.pop("citations", None)
    return body


def test_what_the_sdk_sends_parses_without_loss() -> None:
    gateway = Gateway(DIALECT.parse_result(RESULTS["text"].response))
    client(gateway).messages.create(
        model="gateway-model",  # a real, older model name makes this SDK warn about its deprecation
        max_tokens=2048,
        system=[{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        thinking={"type": "enabled", "budget_tokens": 1024},
        output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
        metadata={"user_id": "user-1"},
        stop_sequences=["END"],
        extra_body={"temperature": 1, "top_k": 5},  # keyword arguments in SDKs before 2.x
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )
    request = gateway.requests[0]
    assert request.unsupported == ()
    assert request.system_text == "Be terse."
    assert request.tool_choice == ToolChoice("required")
    assert request.parallel_tool_calls is False
    assert request.reasoning == ReasoningConfig(enabled=True, budget_tokens=1024)
    assert request.response_format == ResponseFormat("json_schema", schema={"type": "object"})
    assert (request.user, request.stop, request.temperature, request.top_k) == ("user-1", ("END",), 1.0, 5)
    names = dict(request.client_headers)
    assert names["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert names["anthropic-version"]  # whichever version this SDK speaks


@pytest.mark.parametrize("scenario", sorted(RESULTS))
def test_the_sdk_reads_the_rendered_message(scenario: str) -> None:
    result = DIALECT.parse_result(RESULTS[scenario].response)
    message = client(Gateway(result)).messages.create(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
    )
    expected = {key: value for key, value in expected_message(scenario).items() if value is not None}
    assert dump(message) == expected


@pytest.mark.parametrize("scenario", sorted(RESULTS))
def test_the_sdk_accumulates_the_rendered_stream_into_the_same_message(scenario: str) -> None:
    result = DIALECT.parse_result(RESULTS[scenario].response)
    sdk = client(Gateway(result))
    with sdk.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]) as stream:
        final = stream.get_final_message()
    plain = sdk.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert dump(final) == dump(plain)


@pytest.mark.parametrize(
    ("error", "exception"),
    [
        (RateLimited("Slow down."), anthropic.RateLimitError),
        (NotFound("No such model."), anthropic.NotFoundError),
        (ServiceUnavailable("Busy."), anthropic.InternalServerError),
    ],
)
def test_the_sdk_reads_rendered_errors(error: GatewayError, exception: type[Exception]) -> None:
    with pytest.raises(exception) as caught:
        client(Gateway(error=error)).messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body == jsonx.loads(DIALECT.render_error(error))  # type: ignore[attr-defined]


def test_the_sdk_counts_tokens() -> None:
    gateway = Gateway()
    count = client(gateway).messages.count_tokens(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert count.input_tokens == 2095
    assert gateway.requests[0].max_tokens is None


CONVERSATIONS = {
    "text": Conversation(model="m", last_user_text="Hi there", texts=["Hi there"]),
    "tools": Conversation(
        model="m",
        last_user_text="Weather?",
        texts=["Weather?"],
        tools=[("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}})],
        wants_thinking=True,
    ),
}


@pytest.mark.parametrize("case", sorted(CONVERSATIONS))
def test_the_sdk_reads_the_fake_upstream(case: str) -> None:
    conversation = CONVERSATIONS[case]
    fake = answer(conversation, Fault(tool_calls=2))

    def upstream(http_request: Any) -> Any:
        if jsonx.loads(http_request.content).get("stream"):
            wire = b"".join(WIRE.frames(conversation, fake))
            return HTTP.Response(200, content=wire, headers={"content-type": "text/event-stream"})
        return HTTP.Response(200, content=WIRE.json(conversation, fake), headers={"content-type": "application/json"})

    sdk = client(upstream)
    plain = sdk.messages.create(model="m", max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
    with sdk.messages.stream(model="m", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]) as stream:
        final = stream.get_final_message()
    assert dump(final) == dump(plain)
    assert plain.usage.input_tokens == fake.input_tokens
