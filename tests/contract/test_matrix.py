"""The translation matrix: every client dialect x every provider dialect, both directions.

Results: what a provider answered (its recorded JSON and stream) must reach a client of any
dialect and parse back to the same canonical result, limited to what that client's wire carries,
whether rendered as JSON or as a stream fed through the provider's stream parser.
Requests: what a client sent must reach a provider of any dialect and parse back (with that
dialect's own client-side parser) to the same request, limited to what that dialect carries.
"""

from __future__ import annotations

import importlib

import pytest

from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import BadRequest
from shared.canonical.events import fold
from shared.formats.base import BuildOptions, Dialect, RequestContext, UpstreamCall
from shared.formats.framing import FrameReader
from shared.formats.registry import get_dialect
from tests.contract.fixtures import (
    RequestFixture,
    ResultFixture,
    available_dialects,
    parse_stream,
    request_context,
    request_fixtures,
    result_fixtures,
)
from tests.contract.project import project_request, project_result, request_carries

NAMES = available_dialects()
RESULT_PAIRS = [(fixture, client) for name in NAMES for fixture in result_fixtures(name) for client in NAMES]
REQUEST_PAIRS = [(fixture, provider) for name in NAMES for fixture in request_fixtures(name) for provider in NAMES]


def pair_id(value: object) -> str:
    return str(value)


@pytest.mark.parametrize(("fixture", "client"), RESULT_PAIRS, ids=pair_id)
def test_json_result_reaches_every_client_dialect(fixture: ResultFixture, client: str) -> None:
    provider, target = get_dialect(fixture.dialect), get_dialect(client)
    result = provider.parse_result(fixture.response)
    rendered = target.render_result(result, _request_for(target))
    assert project_result(target.parse_result(rendered), target) == project_result(result, target)


@pytest.mark.parametrize(("fixture", "client"), RESULT_PAIRS, ids=pair_id)
def test_stream_reaches_every_client_dialect(fixture: ResultFixture, client: str) -> None:
    provider, target = get_dialect(fixture.dialect), get_dialect(client)
    expected = provider.parse_result(fixture.response)
    renderer = target.stream_renderer(_request_for(target, stream=True))
    wire = b"".join(renderer.render(event) for event in parse_stream(provider, fixture.stream))
    assert project_result(fold(parse_stream(target, wire)), target) == project_result(expected, target)
    assert FrameReader(target.framing).feed(wire)  # well-framed for that client


def _request_for(dialect: Dialect, stream: bool = False) -> ChatRequest:
    return ChatRequest(
        model="client-model",
        messages=(Message("user", (Text("hi"),)),),
        stream=stream,
        wants_usage_in_stream=True,
        dialect=dialect.name,
    )


def _context_for(dialect: str, call: UpstreamCall) -> RequestContext:
    if dialect == "gemini":
        model, _, method = call.path.split("/models/", 1)[1].partition(":")
        return RequestContext(path_model=model, path_stream=method.startswith("streamGenerateContent"))
    return RequestContext()


@pytest.mark.parametrize(("fixture", "provider"), REQUEST_PAIRS, ids=pair_id)
def test_request_reaches_every_provider_dialect(fixture: RequestFixture, provider: str) -> None:
    client, target = get_dialect(fixture.dialect), get_dialect(provider)
    request = client.parse_request(fixture.body, request_context(fixture.dialect, fixture.scenario)).request
    unsupported = _expected_unsupported(provider, fixture.scenario)
    if unsupported:
        with pytest.raises(BadRequest, match=unsupported):
            target.build_request(request, BuildOptions(model=request.model, echo_reasoning=True))
        return
    call = target.build_request(request, BuildOptions(model=request.model, echo_reasoning=True))
    again = target.parse_request(call.body, _context_for(provider, call)).request
    carries = request_carries(fixture.dialect) & request_carries(provider)
    assert project_request(again, carries) == project_request(request, carries)


def _expected_unsupported(provider: str, scenario: str) -> str | None:
    table: dict[str, str] = importlib.import_module(f"tests.contract.traits.{provider}").UNSUPPORTED
    return table.get(scenario)
