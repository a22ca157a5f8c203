"""Per dialect, on recorded fixtures: parsing the JSON answer, folding the parsed stream (in any
chunking) and the expected canonical result are one and the same; every request fixture parses."""

from __future__ import annotations

import random

import pytest

from shared.canonical.events import Start, fold
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

RESULTS = [f for name in available_dialects() for f in result_fixtures(name)]
REQUESTS = [f for name in available_dialects() for f in request_fixtures(name)]


@pytest.mark.parametrize("fixture", RESULTS, ids=str)
def test_json_answer_parses_to_the_expected_result(fixture: ResultFixture) -> None:
    assert get_dialect(fixture.dialect).parse_result(fixture.response) == fixture.expected


@pytest.mark.parametrize("fixture", RESULTS, ids=str)
def test_folded_stream_equals_the_json_answer(fixture: ResultFixture) -> None:
    dialect = get_dialect(fixture.dialect)
    events = parse_stream(dialect, fixture.stream)
    assert isinstance(events[0], Start)
    assert fold(events) == fixture.expected


@pytest.mark.parametrize("fixture", RESULTS, ids=str)
def test_any_chunking_gives_the_same_events(fixture: ResultFixture) -> None:
    dialect = get_dialect(fixture.dialect)
    whole = parse_stream(dialect, fixture.stream)
    for seed in range(5):
        assert parse_stream(dialect, fixture.stream, random.Random(seed)) == whole


@pytest.mark.parametrize("fixture", REQUESTS, ids=str)
def test_request_fixture_parses(fixture: RequestFixture) -> None:
    parsed = get_dialect(fixture.dialect).parse_request(
        fixture.body, request_context(fixture.dialect, fixture.scenario)
    )
    assert parsed.request.messages
    assert parsed.request.dialect == fixture.dialect
