"""The live test's request and the model-list endpoints, per dialect (pure functions)."""

from __future__ import annotations

import pytest

from shared import jsonx
from shared.canonical.errors import UpstreamError
from shared.config.snapshot import ConnectionConfig
from shared.providers.model_lists import ListedModel, list_call, parse_model_list
from shared.providers.probe import PROBE_MAX_TOKENS, default_model, probe_call, scrubbed
from shared.routing.config import Upstream, connection_upstream


def upstream(provider: str, **extra: object) -> Upstream:
    built = connection_upstream(
        ConnectionConfig(id="c", provider=provider, name="n", api_key="sk-secret-123456", **extra)  # type: ignore[arg-type]
    )
    assert built is not None
    return built


@pytest.mark.parametrize(
    ("provider", "url", "model_field"),
    [
        ("openai", "https://api.openai.com/v1/chat/completions", "model"),
        ("anthropic", "https://api.anthropic.com/v1/messages", "model"),
        ("ollama", "http://127.0.0.1:11434/api/chat", "model"),
    ],
)
def test_the_probe_is_the_dialects_own_request(provider: str, url: str, model_field: str) -> None:
    target = upstream(provider)
    model = default_model(target)
    assert model is not None
    call = probe_call(target, model)
    assert call.url == url
    body = jsonx.loads(call.body)
    assert body[model_field] == model
    assert body.get("stream") in (False, None)
    assert any(name in ("authorization", "x-api-key") for name, _ in call.headers)


def test_gemini_probe_and_default_model_choice() -> None:
    target = upstream("gemini", default_model="gemini-2.5-pro")
    call = probe_call(target, "gemini-2.5-pro")
    assert call.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"
    assert jsonx.loads(call.body)["generationConfig"]["maxOutputTokens"] == PROBE_MAX_TOKENS
    assert default_model(upstream("openai", models=("mine",))) == "mine"
    assert default_model(upstream("openai-compatible", base_url="http://x/v1")) is None


def test_scrubbed_cuts_the_key_out() -> None:
    error = UpstreamError("bad key sk-secret-123456 given")
    assert scrubbed(error, "sk-secret-123456") == "bad key [REDACTED] given"
    assert scrubbed(error, None) == error.message


def test_list_calls_per_dialect() -> None:
    assert list_call(upstream("openai")).url == "https://api.openai.com/v1/models"  # type: ignore[union-attr]
    anthropic = list_call(upstream("anthropic"))
    assert anthropic is not None and anthropic.url == "https://api.anthropic.com/v1/models?limit=1000"
    assert ("anthropic-version", "2023-06-01") in anthropic.headers
    assert list_call(upstream("gemini")).url.endswith("/v1beta/models?pageSize=1000")  # type: ignore[union-attr]
    assert list_call(upstream("ollama")).url == "http://127.0.0.1:11434/api/tags"  # type: ignore[union-attr]
    assert list_call(upstream("azure", base_url="https://r.openai.azure.com")) is None
    assert all(name != "content-type" for name, _ in list_call(upstream("openai")).headers)  # type: ignore[union-attr]


def test_parsing_each_shape() -> None:
    assert parse_model_list("openai_chat", b'{"data":[{"id":"a"},{"id":"a"},{"id":"b\\n"},{"x":1},"s"]}') == [
        ListedModel("a")
    ]
    assert parse_model_list("anthropic", b'{"data":[{"id":"c","display_name":"C"}]}') == [ListedModel("c", "C")]
    assert parse_model_list("gemini", b'{"models":[{"name":"models/g","displayName":"G"}]}') == [ListedModel("g", "G")]
    assert parse_model_list("ollama", b'{"models":[{"name":"llama3.2:latest"}]}') == [ListedModel("llama3.2:latest")]
    for bad in (b"not json", b"[]", b'{"data": 5}'):
        with pytest.raises(ValueError, match=r"JSON|list"):
            parse_model_list("openai_chat", bad)
