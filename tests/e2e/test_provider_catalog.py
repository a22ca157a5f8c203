"""Custom models, hidden models, price overrides and the provider test, through a running stack.

Every change goes through /api and must reach both edge processes through the published snapshot.
Each test puts back what it changed: the stack is shared with the other end-to-end tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from shared.pricing import format_usd
from tests.support.stack import UPSTREAM_KEY, E2EStack


def listed(e2e: E2EStack, edge: str) -> set[str]:
    response = httpx.get(f"{edge}/v1/models", headers={"authorization": f"Bearer {e2e.key}"}, timeout=10)
    assert response.status_code == 200
    return {entry["id"] for entry in response.json()["data"]}


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the edges never saw the change"
        time.sleep(0.05)


def chat(e2e: E2EStack, edge: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{edge}/v1/chat/completions",
        headers={"authorization": f"Bearer {e2e.key}"},
        json={"model": model, "messages": [{"role": "user", "content": "price this"}]},
        timeout=20,
    )


def test_a_custom_model_is_listed_and_routable_on_every_edge(e2e: E2EStack) -> None:
    created = e2e.admin.post("/api/provider-models", json={"provider": "openai", "model": "ft:e2e-custom"})
    assert created.status_code == 201, created.text
    try:
        eventually(lambda: all("openai/ft:e2e-custom" in listed(e2e, edge) for edge in e2e.edges))
        for edge in e2e.edges:
            for model in ("ft:e2e-custom", "openai/ft:e2e-custom"):
                response = chat(e2e, edge, model)
                assert response.status_code == 200, response.text
                assert response.headers["x-omniroute-model"] == "ft:e2e-custom"
    finally:
        e2e.admin.delete("/api/provider-models", params={"id": created.json()["id"]})
    eventually(lambda: all("openai/ft:e2e-custom" not in listed(e2e, edge) for edge in e2e.edges))


def test_a_hidden_model_is_not_listed_but_still_served(e2e: E2EStack) -> None:
    assert "openai/o3" in listed(e2e, e2e.edges[0])
    hidden = e2e.admin.patch("/api/provider-models", json={"provider": "openai", "model": "o3", "hidden": True})
    assert hidden.status_code == 200, hidden.text
    try:
        eventually(lambda: all("openai/o3" not in listed(e2e, edge) for edge in e2e.edges))
        assert "openai/o4-mini" in listed(e2e, e2e.edges[1])
        assert chat(e2e, e2e.edges[1], "openai/o3").status_code == 200  # listing-only
    finally:
        e2e.admin.delete("/api/provider-models", params={"provider": "openai", "model": "o3"})
    eventually(lambda: all("openai/o3" in listed(e2e, edge) for edge in e2e.edges))


def test_a_price_override_changes_the_cost_header_and_the_usage_row(e2e: E2EStack) -> None:
    model = "openai/gpt-4.1-mini"  # catalog: $0.40 in, $1.60 out per million tokens

    def cost(response: httpx.Response, price_in: float, price_out: float) -> str:
        usage = response.json()["usage"]
        return format_usd(round(usage["prompt_tokens"] * price_in + usage["completion_tokens"] * price_out))

    before = chat(e2e, e2e.edges[0], model)
    assert before.headers["x-omniroute-response-cost"] == cost(before, 0.4, 1.6)
    patched = e2e.admin.patch(
        "/api/pricing", json={"provider": "openai", "model": "gpt-4.1-mini", "input": 300, "output": 700}
    )
    assert patched.status_code == 200, patched.text
    try:
        for edge in e2e.edges:
            eventually(
                lambda edge=edge: (
                    (r := chat(e2e, edge, model)).headers["x-omniroute-response-cost"] == cost(r, 300, 700)
                )
            )  # type: ignore[misc]
        after = chat(e2e, e2e.edges[1], model)
        row = e2e.wait_usage_rows([after.headers["x-omniroute-request-id"]])[after.headers["x-omniroute-request-id"]]
        usage = after.json()["usage"]
        assert row["cost_micros"] == round(usage["prompt_tokens"] * 300 + usage["completion_tokens"] * 700)
    finally:
        e2e.admin.delete("/api/pricing", params={"provider": "openai", "model": "gpt-4.1-mini"})
    eventually(lambda: (r := chat(e2e, e2e.edges[0], model)).headers["x-omniroute-response-cost"] == cost(r, 0.4, 1.6))


def test_the_provider_test_passes_and_reports_a_scripted_upstream_error(e2e: E2EStack) -> None:
    passed = e2e.admin.post(f"/api/providers/{e2e.provider_id}/test")
    assert passed.status_code == 200
    assert passed.json()["ok"] is True and passed.json()["status"] == 200
    fake = e2e.stack.fake_upstream_url
    script = {"match": {"model": "e2e-probe-model"}, "fault": {"status": 503}, "times": 1}
    assert httpx.post(f"{fake}/_fake/script", json=script).status_code == 200
    failed = e2e.admin.post(f"/api/providers/{e2e.provider_id}/test", json={"model": "e2e-probe-model"})
    assert failed.status_code == 200
    result = failed.json()
    assert result["ok"] is False and result["status"] == 503 and result["model"] == "e2e-probe-model"
    assert result["error"]["code"] == "upstream_error" and result["error"]["retryable"] is True
    assert UPSTREAM_KEY not in failed.text
    listing = e2e.admin.get(f"/api/providers/{e2e.provider_id}/models").json()
    assert listing["source"] == "upstream" and "openai/demo-chat" in [m["id"] for m in listing["models"]]
