"""/api/evals against the real Postgres and Redis: suites, starting runs, reading results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from shared.crypto import FieldCipher, hash_api_key
from shared.evals.jobs import KEY_PURPOSE, run_job_id
from tests.integration.control.routing_support import actions, assert_names_field, published
from tests.support.env import STORAGE_KEY

BUILT_IN = "gateway-smoke"
MODEL = "openai/gpt-4o-mini"


@pytest.fixture
async def evals(admin: AsyncTestClient, pool: asyncpg.Pool) -> AsyncIterator[AsyncTestClient]:
    await pool.execute("DELETE FROM eval_suites WHERE NOT built_in")
    yield admin
    await pool.execute("DELETE FROM eval_suites WHERE NOT built_in")


def suite_body(name: str = "mine", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "description": "a custom suite",
        "cases": [
            {"name": "echo", "messages": [{"role": "user", "content": "hi"}], "scoring": "exact", "expected": "x"},
            {
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
                "scoring": "judge",
                "rubric": "greets",
                "maxTokens": 32,
                "temperature": 0,
            },
            {"messages": [{"role": "user", "content": "n?"}], "scoring": "regex", "expected": "^\\d+$"},
        ],
    }
    body.update(overrides)
    return body


async def test_the_built_in_suite_is_listed_with_its_cases(evals: AsyncTestClient) -> None:
    response = await evals.get("/api/evals")
    assert response.status_code == 200, response.text
    overview = response.json()
    built_in = [suite for suite in overview["suites"] if suite["name"] == BUILT_IN]
    assert len(built_in) == 1
    assert (built_in[0]["builtIn"], built_in[0]["caseCount"]) == (True, 4)
    assert overview["runs"] == []
    detail = (await evals.get(f"/api/evals/suites/{built_in[0]['id']}")).json()
    assert [case["scoring"] for case in detail["cases"]] == ["exact", "contains", "regex", "judge"]
    assert detail["cases"][0]["messages"] == [{"role": "user", "content": "ping"}]


async def test_a_suite_is_created_validated_and_audited(evals: AsyncTestClient, pool: asyncpg.Pool) -> None:
    response = await evals.post("/api/evals/suites", json=suite_body())
    assert response.status_code == 201, response.text
    suite = response.json()
    assert (suite["name"], suite["caseCount"], suite["builtIn"]) == ("mine", 3, False)
    assert [case["position"] for case in suite["cases"]] == [0, 1, 2]
    assert suite["cases"][1]["maxTokens"] == 32 and suite["cases"][1]["rubric"] == "greets"
    assert (await evals.get(f"/api/evals/suites/{suite['id']}")).json() == suite
    assert "eval.suite_created" in await actions(pool, "eval")
    duplicate = await evals.post("/api/evals/suites", json=suite_body())
    assert duplicate.status_code == 409


@pytest.mark.parametrize(
    ("case", "field"),
    [
        (
            {"messages": [{"role": "user", "content": "x"}], "scoring": "regex", "expected": "(unclosed"},
            "cases[0].expected",
        ),
        ({"messages": [{"role": "user", "content": "x"}], "scoring": "judge"}, "cases[0].rubric"),
        ({"messages": [{"role": "user", "content": "x"}], "scoring": "contains"}, "cases[0].expected"),
        (
            {"messages": [{"role": "user", "content": "x"}], "scoring": "exact", "expected": "a", "rubric": "r"},
            "cases[0].rubric",
        ),
    ],
)
async def test_bad_cases_are_refused_naming_the_field(
    evals: AsyncTestClient, pool: asyncpg.Pool, case: dict[str, Any], field: str
) -> None:
    response = await evals.post("/api/evals/suites", json={"name": "bad", "cases": [case]})
    assert_names_field(response, field)
    assert await pool.fetchval("SELECT count(*) FROM eval_suites WHERE name = 'bad'") == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "cases": []},
        {"name": "x", "cases": [{"messages": [], "scoring": "exact", "expected": "a"}]},
        {
            "name": "x",
            "cases": [{"messages": [{"role": "robot", "content": "a"}], "scoring": "exact", "expected": "a"}],
        },
        {"name": "x", "cases": [{"messages": [{"role": "user", "content": "a"}], "scoring": "fuzzy", "expected": "a"}]},
    ],
)
async def test_malformed_suites_are_400(evals: AsyncTestClient, body: dict[str, Any]) -> None:
    assert (await evals.post("/api/evals/suites", json=body)).status_code == 400


async def test_a_run_is_queued_with_its_own_least_privilege_key(
    evals: AsyncTestClient, pool: asyncpg.Pool, redis: Redis
) -> None:
    response = await evals.post("/api/evals", json={"suite": BUILT_IN, "model": MODEL, "concurrency": 3})
    assert response.status_code == 202, response.text
    run = response.json()
    assert (run["status"], run["model"], run["suite"], run["caseCount"], run["concurrency"]) == (
        "queued",
        MODEL,
        BUILT_IN,
        4,
        3,
    )
    assert run["passRate"] is None and run["completedCount"] == 0
    assert "apiKey" not in response.text and "api_key" not in response.text
    # the arq job, named by the run's id
    assert await redis.exists(f"arq:job:{run_job_id(run['id'])}") == 1
    # the minted key: inference only, this model only, expiring; its raw value only encrypted in the run
    stored = await pool.fetchrow("SELECT api_key_id, api_key_enc FROM eval_runs WHERE id = $1", run["id"])
    key = await pool.fetchrow("SELECT * FROM api_keys WHERE id = $1", stored["api_key_id"])
    assert (list(key["scopes"]), list(key["allowed_models"])) == (["inference"], [MODEL])
    assert key["expires_at"] is not None
    raw = FieldCipher(STORAGE_KEY, KEY_PURPOSE).decrypt_text(bytes(stored["api_key_enc"]), run["id"])
    assert hash_api_key(raw) == key["key_hash"]
    assert any(k.id == str(key["id"]) for k in (await published(redis)).keys)  # on its way to every edge
    assert {"eval.run_started"} <= set(await actions(pool, "eval"))
    assert "key.created" in await actions(pool, "key")
    # listed, and readable on its own
    overview = (await evals.get("/api/evals")).json()
    assert [r["id"] for r in overview["runs"]] == [run["id"]]
    detail = (await evals.get(f"/api/evals/runs/{run['id']}")).json()
    assert detail["results"] == [] and detail["status"] == "queued"
    assert (await evals.get("/api/evals", params={"status": "done"})).json()["runs"] == []


async def test_a_run_by_suite_id_with_a_judge_model_that_is_an_alias(evals: AsyncTestClient) -> None:
    assert (await evals.put("/api/models/alias", json={"alias": "judge", "model": MODEL})).status_code in (200, 201)
    suite = (await evals.post("/api/evals/suites", json=suite_body())).json()
    response = await evals.post("/api/evals", json={"suiteId": suite["id"], "model": MODEL, "judgeModel": "judge"})
    assert response.status_code == 202, response.text
    assert (response.json()["judgeModel"], response.json()["caseCount"]) == ("judge", 3)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"suite": BUILT_IN, "model": "nosuch/model-x"}, 422, "model"),
        ({"suite": BUILT_IN, "model": "no-such-model-anywhere"}, 422, "model"),
        ({"suite": BUILT_IN, "model": MODEL, "judgeModel": "unknown-judge"}, 422, "judgeModel"),
        ({"suite": "no-such-suite", "model": MODEL}, 404, "suite"),
        ({"suiteId": "00000000-0000-4000-8000-00000000dead", "model": MODEL}, 404, "suiteId"),
        ({"model": MODEL}, 400, "suiteId"),
    ],
)
async def test_a_run_that_cannot_start_names_why(
    evals: AsyncTestClient, pool: asyncpg.Pool, body: dict[str, Any], status: int, field: str
) -> None:
    assert_names_field(await evals.post("/api/evals", json=body), field, status)
    assert await pool.fetchval("SELECT count(*) FROM eval_runs") == 0
    assert await pool.fetchval("SELECT count(*) FROM api_keys") == 0  # nothing minted


async def test_unknown_runs_and_suites_are_404(evals: AsyncTestClient) -> None:
    for path in (
        "/api/evals/runs/00000000-0000-4000-8000-000000000000",
        "/api/evals/runs/not-a-uuid",
        "/api/evals/suites/00000000-0000-4000-8000-000000000000",
    ):
        assert (await evals.get(path)).status_code == 404, path
    assert (await evals.get("/api/evals", params={"limit": 0})).status_code == 400
    assert (await evals.get("/api/evals", params={"status": "sideways"})).status_code == 400


async def test_custom_suites_are_deleted_with_their_runs_built_in_ones_stay(
    evals: AsyncTestClient, pool: asyncpg.Pool
) -> None:
    built_in = next(s for s in (await evals.get("/api/evals")).json()["suites"] if s["builtIn"])
    assert (await evals.delete(f"/api/evals/suites/{built_in['id']}")).status_code == 409
    suite = (await evals.post("/api/evals/suites", json=suite_body())).json()
    run = (await evals.post("/api/evals", json={"suiteId": suite["id"], "model": MODEL})).json()
    response = await evals.delete(f"/api/evals/suites/{suite['id']}")
    assert response.status_code == 200 and response.json() == {"id": suite["id"], "deleted": True}
    assert (await evals.get(f"/api/evals/runs/{run['id']}")).status_code == 404
    assert "eval.suite_deleted" in await actions(pool, "eval")
