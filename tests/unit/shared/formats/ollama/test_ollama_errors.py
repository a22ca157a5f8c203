"""Ollama outbound: upstream errors into the gateway's error tree (statuses, Retry-After, no echoed credentials)."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from shared import jsonx
from shared.canonical.errors import BadRequest, NotFound, RateLimited, UpstreamError
from shared.formats.ollama.outbound import classify_error

FAKE_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"


# --- classify_error ----------------------------------------------------------------------------


def error(message: Any) -> bytes:
    return jsonx.dumps({"error": message})


def test_429_with_retry_after() -> None:
    exc = classify_error(429, CIMultiDict({"Retry-After": "2.5"}), error("too many requests"))
    assert isinstance(exc, RateLimited)
    assert exc.headers == {"Retry-After": "3", "retry-after-ms": "2500"}
    assert exc.retryable and exc.fallback_allowed
    assert exc.message == "too many requests"


def test_429_with_retry_after_ms_and_without() -> None:
    assert classify_error(429, CIMultiDict({"retry-after-ms": "1500"}), b"").headers == {
        "Retry-After": "2",
        "retry-after-ms": "1500",
    }
    assert classify_error(429, CIMultiDict(), b"").headers == {}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_not_echoed(status: int) -> None:
    exc = classify_error(status, CIMultiDict(), error(f"unauthorized: key {FAKE_KEY} is invalid"))
    assert isinstance(exc, UpstreamError)
    assert exc.code == "upstream_auth_error"
    assert FAKE_KEY not in exc.message
    assert "unauthorized" not in exc.message


def test_404_unknown_model() -> None:
    exc = classify_error(404, CIMultiDict(), error('model "llama9" not found, try pulling it first'))
    assert isinstance(exc, NotFound)
    assert exc.fallback_allowed
    assert "llama9" in exc.message


def test_400_keeps_the_upstream_reason() -> None:
    exc = classify_error(400, CIMultiDict(), error("registry.ollama.ai/library/gemma:2b does not support tools"))
    assert isinstance(exc, BadRequest)
    assert exc.message == "registry.ollama.ai/library/gemma:2b does not support tools"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retryable(status: int) -> None:
    exc = classify_error(status, CIMultiDict(), error("an error was encountered while running the model"))
    assert isinstance(exc, UpstreamError)
    assert exc.retryable and exc.fallback_allowed
    assert "running the model" not in exc.message


@pytest.mark.parametrize("raw", [b"", b"<html>502</html>", b"[]", jsonx.dumps({"error": ""}), jsonx.dumps({"x": 1})])
def test_unreadable_error_bodies(raw: bytes) -> None:
    exc = classify_error(400, CIMultiDict(), raw)
    assert isinstance(exc, BadRequest)
    assert exc.message == "The upstream provider rejected the request (HTTP 400)."


def test_openai_shaped_errors_from_proxies() -> None:
    raw = jsonx.dumps({"error": {"message": "context too long", "type": "invalid_request_error"}})
    assert classify_error(400, CIMultiDict(), raw).message == "context too long"


def test_secrets_in_upstream_messages_are_redacted() -> None:
    exc = classify_error(400, CIMultiDict(), error(f"bad header Authorization: Bearer {FAKE_KEY}"))
    assert FAKE_KEY not in exc.message
