"""Bad input over real HTTP: a clean error in the caller's dialect, never a 500 or a stack trace."""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import UPSTREAM_KEY, E2EStack

CHAT = "/v1/chat/completions"
GOOD = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}'


@pytest.mark.parametrize(
    ("raw", "key", "status", "code"),
    [
        (b"{oops", "valid", 400, "invalid_json"),
        (b'{"model": "openai/gpt-4o-mini"}', "valid", 400, "missing_required_parameter"),
        (b'{"model": "ghost/none", "messages": [{"role": "user", "content": "x"}]}', "valid", 404, "model_not_found"),
        (GOOD, None, 401, "missing_api_key"),
        (GOOD, "sk-omni-wrong", 401, "invalid_api_key"),
        (
            b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "'
            + b"x" * (2 * 1024 * 1024)
            + b'"}]}',
            "valid",
            413,
            "request_too_large",
        ),
    ],
)
@pytest.mark.parametrize("edge", [0, 1])
def test_client_api_errors(e2e: E2EStack, edge: int, raw: bytes, key: str | None, status: int, code: str) -> None:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {e2e.key if key == 'valid' else key}"
    response = httpx.post(f"{e2e.edges[edge]}{CHAT}", content=raw, headers=headers, timeout=20)
    assert response.status_code == status
    assert response.headers["x-omniroute-request-id"]
    assert response.json()["error"]["code"] == code
    assert UPSTREAM_KEY not in response.text


def test_management_api_errors(e2e: E2EStack) -> None:
    assert e2e.admin.get("/api/providers/00000000-0000-0000-0000-00000000abcd").status_code == 404
    assert e2e.admin.delete("/api/keys/not-an-id").status_code == 404
    invalid = e2e.admin.post("/api/providers", json={"provider": "openai", "name": "", "apiKey": "sk-x"})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["details"][0]["field"] == "name"
    wrong_type = e2e.admin.post("/api/keys", json={"name": "x", "maxRequestsPerMinute": "many"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"]["details"][0]["field"] == "maxRequestsPerMinute"
    assert httpx.get(f"{e2e.stack.control_url}/api/keys").status_code == 401
