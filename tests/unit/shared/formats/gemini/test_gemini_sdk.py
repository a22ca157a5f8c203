"""The official `google-genai` SDK against the dialect, in-process (a mock transport, no network).

The client side must read what the SDK sends (it mixes camelCase and snake_case field names, and
calls `/v1/models/...`) and write what the SDK reads (answers, streams, errors); the fake
upstream's Gemini wire must be readable by the SDK too, since it stands in for the real API.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from services.fake_upstream.dialects.gemini import WIRE
from services.fake_upstream.engine import Conversation, answer
from services.fake_upstream.faults import Fault
from shared.canonical.chat import (
    ChatRequest,
    Image,
    ReasoningConfig,
    ResponseFormat,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from shared.canonical.errors import BadRequest, GatewayError, NotFound, RateLimited
from shared.canonical.events import explode
from shared.canonical.result import ChatResult
from shared.canonical.usage import Usage
from shared.formats.base import RequestContext
from shared.formats.gemini import DIALECT
from tests.contract.fixtures import result_fixtures

RESULTS = {fixture.scenario: fixture for fixture in result_fixtures("gemini")}
SIGNATURE = base64.b64encode(b"opaque-signature").decode()


class Gateway:
    """The client side of the dialect behind a mock transport: parse, then answer with `result`."""

    def __init__(self, result: ChatResult | None = None, error: GatewayError | None = None) -> None:
        self.result = result
        self.error = error
        self.requests: list[ChatRequest] = []
        self.paths: list[str] = []

    def __call__(self, http_request: httpx.Request) -> httpx.Response:
        self.paths.append(http_request.url.path)
        rest = http_request.url.path.split("/models/", 1)[1]
        model, _, method = rest.rpartition(":")
        context = RequestContext(path_model=model, path_stream=method == "streamGenerateContent")
        try:
            request = DIALECT.parse_request(http_request.content, context).request
        except GatewayError as exc:
            return httpx.Response(exc.status, content=DIALECT.render_error(exc))
        self.requests.append(request)
        if self.error is not None:
            return httpx.Response(self.error.status, content=DIALECT.render_error(self.error))
        result = self.result or ChatResult(id="r", model=request.model, content=(Text("ok"),))
        if not request.stream:
            return httpx.Response(200, content=DIALECT.render_result(result, request))
        renderer = DIALECT.stream_renderer(request)
        wire = b"".join(renderer.render(event) for event in explode(result))
        return httpx.Response(200, content=wire, headers={"content-type": "text/event-stream"})


def client(handler: Any) -> genai.Client:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return genai.Client(
        api_key="test-key", http_options=types.HttpOptions(base_url="http://gateway", httpx_client=http)
    )


WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather for a city.",
    parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]),
)


def test_what_the_sdk_sends_is_read() -> None:
    gateway = Gateway()
    history = [
        types.Content(
            role="user",
            parts=[
                types.Part.from_text(text="Weather here?"),
                types.Part.from_bytes(data=b"PNG", mime_type="image/png"),
                types.Part.from_uri(file_uri="https://example.com/cat.png", mime_type="image/png"),
            ],
        ),
        types.Content(
            role="model",
            parts=[
                types.Part(text="I should call the tool.", thought=True),
                types.Part(
                    function_call=types.FunctionCall(name="get_weather", args={"city": "Paris"}),
                    thought_signature=b"opaque-signature",
                ),
            ],
        ),
        types.Content(
            role="user", parts=[types.Part.from_function_response(name="get_weather", response={"output": "18C"})]
        ),
    ]
    config = types.GenerateContentConfig(
        system_instruction="Be brief.",
        temperature=0.2,
        top_k=20,
        max_output_tokens=50,
        stop_sequences=["END"],
        seed=3,
        tools=[types.Tool(function_declarations=[WEATHER])],
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(mode="ANY", allowed_function_names=["get_weather"])
        ),
        thinking_config=types.ThinkingConfig(thinking_budget=1024, include_thoughts=True),
        response_mime_type="application/json",
        response_json_schema={"type": "object", "properties": {"t": {"type": "number"}}},
    )
    client(gateway).models.generate_content(model="gemini-2.5-flash", contents=history, config=config)
    # google-genai 3.x calls /v1/models/...; older releases call /v1beta/models/...
    assert gateway.paths[0] in (
        "/v1/models/gemini-2.5-flash:generateContent",
        "/v1beta/models/gemini-2.5-flash:generateContent",
    )
    request = gateway.requests[0]
    assert request.unsupported == ()
    assert request.system_text == "Be brief."
    user, model, tool = request.messages[1:]
    assert user.content == (
        Text("Weather here?"),
        Image(data=base64.b64encode(b"PNG").decode(), media_type="image/png"),
        Image(url="https://example.com/cat.png"),
    )
    thinking, call = model.content
    assert thinking == Thinking("I should call the tool.")
    assert isinstance(call, ToolCall)
    assert (call.name, call.arguments, call.signature) == ("get_weather", '{"city":"Paris"}', SIGNATURE)
    assert tool.content == (ToolResult(tool_call_id=call.id, content=(Text("18C"),), name="get_weather"),)
    assert request.tools[0].parameters == {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    assert request.tool_choice is not None and request.tool_choice.name == "get_weather"
    assert (request.temperature, request.top_k, request.max_tokens, request.stop, request.seed) == (
        0.2,
        20,
        50,
        ("END",),
        3,
    )
    assert request.reasoning == ReasoningConfig(budget_tokens=1024, enabled=True, include_thoughts=True)
    assert request.response_format == ResponseFormat(
        "json_schema", schema={"type": "object", "properties": {"t": {"type": "number"}}}
    )


def test_the_sdk_reads_an_answer_with_thoughts_calls_ids_and_signatures() -> None:
    result = ChatResult(
        id="resp-1",
        model="gemini-2.5-flash",
        content=(
            Thinking("Need the tool.", SIGNATURE),
            ToolCall("toolu_1", "get_weather", '{"city": "Paris"}', signature=SIGNATURE),
            ToolCall("toolu_2", "get_weather", '{"city": "Tokyo"}'),
        ),
        stop_reason="tool_use",
        usage=Usage(input_tokens=12, output_tokens=30, reasoning_tokens=10, cached_tokens=4, reported=True),
    )
    response = client(Gateway(result)).models.generate_content(model="gemini-2.5-flash", contents="Weather?")
    assert response.response_id == "resp-1"
    assert response.model_version == "gemini-2.5-flash"
    assert [(c.id, c.name, c.args) for c in response.function_calls or []] == [
        ("toolu_1", "get_weather", {"city": "Paris"}),
        ("toolu_2", "get_weather", {"city": "Tokyo"}),
    ]
    parts = response.candidates[0].content.parts  # type: ignore[index, union-attr]
    assert parts is not None
    assert (parts[0].thought, parts[0].text, parts[0].thought_signature) == (
        True,
        "Need the tool.",
        b"opaque-signature",
    )
    assert parts[1].thought_signature == b"opaque-signature"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.thoughts_token_count) == (12, 20, 10)
    assert (usage.cached_content_token_count, usage.total_token_count) == (4, 42)


@pytest.mark.parametrize("scenario", sorted(RESULTS))
def test_the_sdk_reads_every_recorded_answer_and_stream(scenario: str) -> None:
    """The fixtures stand in for the real API: the SDK must read them as it reads Gemini."""
    fixture = RESULTS[scenario]
    for raw in (fixture.response, b""):
        payload = raw or fixture.stream

        def handler(_: httpx.Request, payload: bytes = payload) -> httpx.Response:
            return httpx.Response(200, content=payload, headers={"content-type": "text/event-stream"})

        models = client(handler).models
        if raw:
            responses = [models.generate_content(model="gemini-2.5-flash", contents="x")]
        else:
            responses = list(models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
        assert responses[-1].candidates[0].finish_reason is not None  # type: ignore[index]
        assert responses[-1].usage_metadata is not None
        expected = fixture.expected
        text = "".join(
            p.text or ""
            for r in responses
            for p in (r.candidates[0].content.parts or [])  # type: ignore[index, union-attr]
            if not p.thought
        )
        assert text == expected.text
        calls = [c for r in responses for c in r.function_calls or []]
        assert [c.name for c in calls] == [c.name for c in expected.tool_calls]


def test_the_sdk_reads_a_rendered_stream() -> None:
    result = ChatResult(
        id="resp-2",
        model="claude-sonnet-4",
        content=(Thinking("Hmm.", SIGNATURE), Text("Hello"), Text(" there"), ToolCall("toolu_9", "f", "{}")),
        stop_reason="tool_use",
        usage=Usage(input_tokens=3, output_tokens=9, reported=True),
    )
    gateway = Gateway(result)
    chunks = list(client(gateway).models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert gateway.requests[0].stream is True
    assert "".join(c.text or "" for c in chunks if c.text) == "Hello there"
    assert [fc.id for c in chunks for fc in c.function_calls or []] == ["toolu_9"]
    signatures = [
        p.thought_signature
        for c in chunks
        for p in c.candidates[0].content.parts or []  # type: ignore[index, union-attr]
        if p.thought_signature
    ]
    assert signatures == [b"opaque-signature"]
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata.total_token_count == 12
    assert all(c.response_id == "resp-2" for c in chunks)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BadRequest("'contents' is a required property", param="contents"), "INVALID_ARGUMENT"),
        (NotFound("No such model."), "NOT_FOUND"),
        (RateLimited("Slow down.", headers={"Retry-After": "3"}), "RESOURCE_EXHAUSTED"),
        (GatewayError("Boom."), "INTERNAL"),
    ],
)
def test_the_sdk_reads_errors(error: GatewayError, status: str) -> None:
    with pytest.raises(genai_errors.APIError) as info:
        client(Gateway(error=error)).models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (info.value.code, info.value.status, info.value.message) == (error.status, status, error.message)


def test_a_parse_error_reaches_the_sdk_as_a_client_error() -> None:
    def handler(http_request: httpx.Request) -> httpx.Response:
        try:
            DIALECT.parse_request(http_request.content, RequestContext(path_model=None))
        except GatewayError as exc:
            return httpx.Response(exc.status, content=DIALECT.render_error(exc))
        return httpx.Response(200, content=b"{}")  # pragma: no cover

    with pytest.raises(genai_errors.ClientError) as info:
        client(handler).models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert info.value.code == 400


CONVERSATIONS = {
    "text": Conversation(model="gemini-2.5-flash", last_user_text="Hi", texts=["Hi"]),
    "tools": Conversation(
        model="gemini-2.5-flash",
        last_user_text="Weather?",
        texts=["Weather?"],
        tools=[("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}})],
        wants_thinking=True,
    ),
    "thinking": Conversation(model="gemini-2.5-flash", last_user_text="Why?", texts=["Why?"], wants_thinking=True),
}


@pytest.mark.parametrize("case", sorted(CONVERSATIONS))
def test_the_sdk_reads_the_fake_upstream(case: str) -> None:
    conversation = CONVERSATIONS[case]
    fake = answer(conversation, Fault(tool_calls=2))
    json_body, stream_body = WIRE.json(conversation, fake), b"".join(WIRE.frames(conversation, fake))

    def handler(http_request: httpx.Request) -> httpx.Response:
        stream = "streamGenerateContent" in http_request.url.path
        return httpx.Response(200, content=stream_body if stream else json_body)

    models = client(handler).models
    whole = models.generate_content(model="gemini-2.5-flash", contents="x")
    chunks = list(models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
    assert whole.text == ("".join(c.text or "" for c in chunks) or None)
    assert [fc.args for fc in whole.function_calls or []] == [fc.args for c in chunks for fc in c.function_calls or []]
    assert whole.usage_metadata is not None and chunks[-1].usage_metadata is not None
    assert whole.usage_metadata.total_token_count == chunks[-1].usage_metadata.total_token_count


def test_signatures_of_any_origin_survive_a_round_trip_through_the_sdk() -> None:
    """The edge tags other providers' signatures (`omni:anthropic:...`); the SDK holds them as bytes."""
    tagged_thought, tagged_call = "omni:anthropic:EqQBCkgIARABGAIiQ", "omni:openai_responses:gAAAAABo"
    result = ChatResult(
        id="r",
        model="m",
        content=(Thinking("Plan.", tagged_thought), ToolCall("toolu_1", "f", "{}", signature=tagged_call)),
        stop_reason="tool_use",
    )
    gateway = Gateway(result)
    models = client(gateway).models
    for stream in (False, True):
        if stream:
            chunks = list(models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
            parts = [p for c in chunks for p in c.candidates[0].content.parts or []]  # type: ignore[index, union-attr]
        else:
            response = models.generate_content(model="gemini-2.5-flash", contents="hi")
            parts = list(response.candidates[0].content.parts or [])  # type: ignore[index, union-attr]
        history = [
            types.Content(role="user", parts=[types.Part.from_text(text="hi")]),
            types.Content(
                role="model", parts=[p for p in parts if p.thought or p.function_call or p.thought_signature]
            ),
            types.Content(role="user", parts=[types.Part.from_function_response(name="f", response={"output": "ok"})]),
        ]
        models.generate_content(model="gemini-2.5-flash", contents=history)
        replayed = gateway.requests[-1].messages[1].content
        assert [p for p in replayed if isinstance(p, Thinking)] == [Thinking("Plan.", tagged_thought)]
        calls = [p for p in replayed if isinstance(p, ToolCall)]
        assert [(c.id, c.signature) for c in calls] == [("toolu_1", tagged_call)]
