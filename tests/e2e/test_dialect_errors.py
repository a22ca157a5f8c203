"""Bad input on every client endpoint: a 400 in that dialect's own error shape, naming the problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.stack import E2EStack


def openai_shape(body: Any) -> str:
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return str(body["error"]["message"])


def anthropic_shape(body: Any) -> str:
    assert body["type"] == "error"
    assert {"type", "message"} <= set(body["error"])
    return str(body["error"]["message"])


def gemini_shape(body: Any) -> str:
    assert {"code", "message", "status"} <= set(body["error"])
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    return str(body["error"]["message"])


def ollama_shape(body: Any) -> str:
    assert isinstance(body["error"], str)
    return str(body["error"])


ENDPOINTS: list[tuple[str, str, Callable[[Any], str], dict[str, Any], str]] = [
    ("/v1/chat/completions", "chat", openai_shape, {"model": "openai/gpt-4o-mini"}, "messages"),
    ("/v1/responses", "responses", openai_shape, {"model": "openai/gpt-4o-mini"}, "input"),
    ("/v1/messages", "messages", anthropic_shape, {"model": "openai/gpt-4o-mini", "max_tokens": 5}, "messages"),
    ("/v1beta/models/openai/gpt-4o-mini:generateContent", "gemini", gemini_shape, {}, "contents"),
    ("/api/chat", "ollama", ollama_shape, {"model": "openai/gpt-4o-mini"}, "messages"),
]


@pytest.mark.parametrize(("path", "name", "shape", "missing_body", "field"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_malformed_and_incomplete_requests(
    e2e: E2EStack, path: str, name: str, shape: Callable[[Any], str], missing_body: dict[str, Any], field: str
) -> None:
    headers = {"authorization": f"Bearer {e2e.key}", "content-type": "application/json"}
    malformed = httpx.post(f"{e2e.edges[0]}{path}", content=b"{nope", headers=headers)
    assert malformed.status_code == 400
    assert "JSON" in shape(malformed.json())
    incomplete = httpx.post(f"{e2e.edges[1]}{path}", json=missing_body, headers=headers)
    assert incomplete.status_code == 400, incomplete.text
    assert field in shape(incomplete.json())
    unauthenticated = httpx.post(f"{e2e.edges[0]}{path}", json=missing_body)
    assert unauthenticated.status_code == 401
    shape_of_401 = unauthenticated.json()
    assert "error" in shape_of_401
