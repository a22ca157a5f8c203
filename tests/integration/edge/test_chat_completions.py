"""POST /v1/chat/completions in process, against a real fake upstream: answers and every error path."""

from __future__ import annotations

import asyncio

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared import jsonx
from shared.kv import keys
from tests.integration.edge.conftest import CLIENT_KEY, EXPIRED_KEY, RESTRICTED_KEY, UPSTREAM_KEY

CHAT = "/v1/chat/completions"


def body(content: str = "Hello", **extra: object) -> dict[str, object]:
    return {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}


def assert_openai_error(response: object, status: int, code: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["x-omniroute-request-id"]  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code
    assert UPSTREAM_KEY not in response.text  # type: ignore[attr-defined]
    assert "Traceback" not in response.text  # type: ignore[attr-defined]
    return error


async def test_plain_answer_is_forwarded_with_usage_headers(edge: AsyncTestClient, auth: dict[str, str]) -> None:
    response = await edge.post(CHAT, json=body("Hello gateway"), headers=auth)
    assert response.status_code == 200
    answer = response.json()
    assert answer["choices"][0]["message"]["content"] == "Hello! You said: Hello gateway"
    assert answer["usage"]["prompt_tokens"] == 5
    assert response.headers["x-omniroute-provider"] == "openai"
    assert response.headers["x-omniroute-model"] == "gpt-4o-mini"
    assert response.headers["x-omniroute-tokens-in"] == "5"
    assert response.headers["x-omniroute-tokens-out"] == str(answer["usage"]["completion_tokens"])
    assert len(response.headers["x-omniroute-request-id"]) == 32


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {CLIENT_KEY}"},
        {"x-api-key": CLIENT_KEY},
        {"x-goog-api-key": CLIENT_KEY},
    ],
)
async def test_every_key_style_is_accepted(edge: AsyncTestClient, headers: dict[str, str]) -> None:
    assert (await edge.post(CHAT, json=body(), headers=headers)).status_code == 200
    assert (await edge.post(f"{CHAT}?key={CLIENT_KEY}", json=body())).status_code == 200


async def test_aliases_and_bare_models_resolve(edge: AsyncTestClient, auth: dict[str, str]) -> None:
    for model in ("fast", "gpt-4o-mini", "openai/gpt-4o", "oai/gpt-4o"):
        response = await edge.post(CHAT, json={**body(), "model": model}, headers=auth)
        assert response.status_code == 200, model


async def test_authentication_errors(edge: AsyncTestClient) -> None:
    assert_openai_error(await edge.post(CHAT, json=body()), 401, "missing_api_key")
    assert_openai_error(
        await edge.post(CHAT, json=body(), headers={"authorization": "Bearer sk-wrong"}), 401, "invalid_api_key"
    )
    assert_openai_error(
        await edge.post(CHAT, json=body(), headers={"authorization": f"Bearer {EXPIRED_KEY}"}), 401, "expired_api_key"
    )
    restricted = {"authorization": f"Bearer {RESTRICTED_KEY}"}
    assert_openai_error(await edge.post(CHAT, json=body(), headers=restricted), 403, "model_not_allowed")
    assert (await edge.post(CHAT, json={**body(), "model": "openai/gpt-4o"}, headers=restricted)).status_code == 200


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b'{"model": "openai/gpt-4o-mini"}', 400, "missing_required_parameter"),
        (b'{"model": "openai/gpt-4o-mini", "messages": []}', 400, None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "missing_required_parameter"),
        (b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user"}], "temperature": 3}', 400, None),
        (b'{"model": "nobody/nothing", "messages": [{"role": "user", "content": "x"}]}', 404, "model_not_found"),
        (b'{"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}', 404, "model_not_found"),
    ],
)
async def test_bad_requests_get_openai_errors(
    edge: AsyncTestClient, auth: dict[str, str], raw: bytes, status: int, code: str | None
) -> None:
    response = await edge.post(CHAT, content=raw, headers={**auth, "content-type": "application/json"})
    assert_openai_error(response, status, code)


async def test_body_over_the_limit_is_413(edge: AsyncTestClient, auth: dict[str, str]) -> None:
    response = await edge.post(CHAT, json=body("x" * 100_000), headers=auth)
    assert_openai_error(response, 413, "request_too_large")


async def test_unknown_routes_and_methods(edge: AsyncTestClient, auth: dict[str, str]) -> None:
    assert_openai_error(await edge.post("/v1/nothing", json={}, headers=auth), 404, "unknown_endpoint")
    assert_openai_error(await edge.get(CHAT, headers=auth), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("directive", "status", "code"),
    [
        ("status=500", 502, "upstream_error"),
        ("status=503", 502, "upstream_error"),
        ("status=401", 502, "upstream_auth_error"),
        ("status=403", 502, "upstream_auth_error"),
        ("status=404", 404, "model_not_found"),
        ("status=400", 400, None),
        ("status=429 retry_after=2", 429, "rate_limit_exceeded"),
        ("delay_ms=1500", 504, "upstream_first_byte_timeout"),
    ],
)
async def test_upstream_failures_map_to_the_right_status(
    edge: AsyncTestClient, auth: dict[str, str], directive: str, status: int, code: str | None
) -> None:
    response = await edge.post(CHAT, json=body(f"[[fake {directive}]]"), headers=auth)
    assert_openai_error(response, status, code)
    if status == 429:
        assert response.headers["retry-after"] == "2"


async def test_unreachable_upstream_is_502(
    settings: object, redis: Redis, publish: object, auth: dict[str, str]
) -> None:
    from dataclasses import replace

    from services.edge.app import create_app
    from tests.integration.edge.conftest import snapshot_for
    from tests.support.env import free_port

    await publish(snapshot_for(f"http://127.0.0.1:{free_port()}/v1", version=9))  # type: ignore[operator]
    async with AsyncTestClient(app=create_app(replace(settings))) as client:  # type: ignore[type-var]
        response = await client.post(CHAT, json=body(), headers=auth)
    assert_openai_error(response, 502, "upstream_unreachable")


async def test_models_list(edge: AsyncTestClient, auth: dict[str, str]) -> None:
    response = await edge.get("/v1/models", headers=auth)
    assert response.status_code == 200
    listing = response.json()
    assert listing["object"] == "list"
    ids = {m["id"] for m in listing["data"]}
    assert {"openai/gpt-4o-mini", "openai/gpt-4o"} <= ids
    assert all(m["owned_by"] == "openai" for m in listing["data"])
    assert (await edge.get("/v1/models")).status_code == 401


async def test_one_usage_event_per_authenticated_request(
    edge: AsyncTestClient, auth: dict[str, str], redis: Redis
) -> None:
    ok = await edge.post(CHAT, json=body(), headers=auth)
    bad = await edge.post(CHAT, json={**body(), "model": "no\u0000pe" + "x" * 1000}, headers=auth)
    await edge.post(CHAT, json=body())  # unauthenticated: metrics only
    entries: list[tuple[bytes, dict[bytes, bytes]]] = []
    for _ in range(50):
        entries = await redis.xrange(keys.USAGE_STREAM)
        if len(entries) >= 2:
            break
        await asyncio.sleep(0.02)
    events = {jsonx.loads(fields[b"e"])["request_id"]: jsonx.loads(fields[b"e"]) for _, fields in entries}
    assert set(events) == {ok.headers["x-omniroute-request-id"], bad.headers["x-omniroute-request-id"]}
    good = events[ok.headers["x-omniroute-request-id"]]
    assert good["status"] == 200 and good["provider"] == "openai" and good["tokens_in"] == 4
    refused = events[bad.headers["x-omniroute-request-id"]]
    assert refused["status"] == 404
    assert refused["requested_model"] == "no?pe" + "x" * 251  # printable and bounded before it reaches Postgres


async def test_readiness_and_metrics(edge: AsyncTestClient) -> None:
    ready = await edge.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["configVersion"] == 5
    assert (await edge.get("/healthz")).status_code == 200
    assert "omniroute_requests_total" in (await edge.get("/metrics")).text
