"""Whatever a client or an upstream sends, the dialect answers with the gateway's own errors:
a 400 naming a field for a client, an upstream error for an upstream, never a crash (a 500)."""

from __future__ import annotations

import contextlib
import copy
import random
from typing import Any

import pytest

from shared import jsonx
from shared.canonical.errors import BadRequest, GatewayError
from shared.canonical.events import Failure, Finish
from shared.formats.base import BuildOptions, RequestContext
from shared.formats.gemini import DIALECT
from shared.sse import SSEEvent
from tests.contract.fixtures import request_fixtures, result_fixtures

CONTEXT = RequestContext(path_model="gemini-2.5-flash", path_stream=False)
ODD_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "x", "OBJECT", [], [None], {}, {"text": 1}, [{"text": "x"}]]


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nodes(item, (*path, index))
    return found


def _mutated(body: Any, rng: random.Random) -> Any:
    out = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_nodes(out)[1:] or [()])
        if not path:
            return rng.choice(ODD_VALUES)
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return out


@pytest.mark.parametrize("fixture", request_fixtures("gemini"), ids=str)
def test_mutated_requests_parse_or_are_a_400(fixture: Any) -> None:
    rng = random.Random(fixture.scenario)
    body = jsonx.loads(fixture.body)
    for _ in range(150):
        raw = jsonx.dumps(_mutated(body, rng))
        try:
            parsed = DIALECT.parse_request(raw, CONTEXT).request
        except BadRequest:
            continue
        with contextlib.suppress(BadRequest):  # e.g. a result whose call was mutated away: a 400
            DIALECT.build_request(parsed, BuildOptions(model="gemini-2.5-flash"))


@pytest.mark.parametrize("fixture", result_fixtures("gemini"), ids=str)
def test_mutated_answers_parse_or_are_an_upstream_error(fixture: Any) -> None:
    rng = random.Random(fixture.scenario)
    body = jsonx.loads(fixture.response)
    for _ in range(150):
        with contextlib.suppress(GatewayError):
            DIALECT.parse_result(jsonx.dumps(_mutated(body, rng)))


@pytest.mark.parametrize("fixture", result_fixtures("gemini"), ids=str)
def test_mutated_stream_events_end_in_a_finish_or_a_failure(fixture: Any) -> None:
    rng = random.Random(fixture.scenario)
    chunks = [jsonx.loads(line[6:]) for line in fixture.stream.decode().split("\r\n\r\n") if line.startswith("data: ")]
    for _ in range(100):
        parser = DIALECT.stream_parser(None)  # type: ignore[arg-type]
        events = []
        for chunk in chunks:
            events += parser.parse(SSEEvent(None, jsonx.dumps(_mutated(chunk, rng) if rng.random() < 0.5 else chunk)))
        events += parser.end()
        assert isinstance(events[-1], Finish | Failure)
        assert sum(isinstance(e, Finish | Failure) for e in events) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422, 429, 500, 503, 504])
def test_mutated_error_bodies_classify(status: int) -> None:
    rng = random.Random(status)
    body = {
        "error": {
            "code": status,
            "message": "m",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}],
        }
    }
    for _ in range(100):
        error = DIALECT.classify_error(status, {}, jsonx.dumps(_mutated(body, rng)))
        assert isinstance(error, GatewayError)
