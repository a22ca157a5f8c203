"""EdgeConfig: indexing a snapshot and resolving client model strings."""

from __future__ import annotations

import pytest

from shared.config.snapshot import ConnectionConfig, Snapshot
from shared.formats.base import UpstreamCall
from shared.routing.candidates import Availability, candidates
from shared.routing.config import EdgeConfig, Target
from shared.routing.order import Signals
from shared.routing.route import resolve_route


def connection(ident: str, provider: str, priority: int = 1, **extra: object) -> ConnectionConfig:
    return ConnectionConfig(id=ident, provider=provider, name=ident, priority=priority, api_key="sk-x", **extra)  # type: ignore[arg-type]


def targets_of(config: EdgeConfig, model: str) -> list[Target]:
    """The targets a request for `model` would try, in order, with nothing cooling down."""
    route = resolve_route(config, model)
    return [c.target for c in candidates(route, config, Signals(), Availability())[0]] if route else []


@pytest.fixture
def config() -> EdgeConfig:
    return EdgeConfig(
        Snapshot(
            version=3,
            published_at=0,
            connections=(
                connection("o2", "openai", priority=2),
                connection("o1", "openai", priority=1),
                connection("neb", "nebius", models=("Qwen/Qwen3-Embedding-8B",)),
                connection("off", "groq", is_active=False),
                connection("local", "openai-compatible", base_url="http://127.0.0.1:9/v1", models=("my-model",)),
                connection("broken", "openai-compatible"),  # no base URL: cannot be called
                connection("mystery", "no-such-provider", base_url="http://x/v1"),
            ),
            aliases={"fast": "openai/gpt-4o-mini", "loop-a": "loop-b", "loop-b": "loop-a"},
        )
    )


def test_provider_prefix_orders_connections_by_priority(config: EdgeConfig) -> None:
    targets = targets_of(config, "openai/gpt-4o")
    assert [t.upstream.connection.id for t in targets] == ["o1", "o2"]
    assert {t.model for t in targets} == {"gpt-4o"}
    call = UpstreamCall("/chat/completions", b"")
    assert targets[0].upstream.url(call, "gpt-4o") == "https://api.openai.com/v1/chat/completions"
    assert ("authorization", "Bearer sk-x") in targets[0].upstream.auth_headers


def test_short_aliases_and_slashes_in_model_ids(config: EdgeConfig) -> None:
    assert [t.upstream.connection.id for t in targets_of(config, "oai/gpt-4o")] == ["o1", "o2"]
    [target] = targets_of(config, "nebius/Qwen/Qwen3-Embedding-8B")
    assert target.model == "Qwen/Qwen3-Embedding-8B"


def test_bare_models_and_user_aliases(config: EdgeConfig) -> None:
    assert [t.upstream.connection.id for t in targets_of(config, "gpt-4o-mini")] == ["o1", "o2"]
    assert [t.upstream.connection.id for t in targets_of(config, "fast")] == ["o1", "o2"]
    [local] = targets_of(config, "my-model")
    assert (
        local.upstream.url(UpstreamCall("/chat/completions", b""), "my-model")
        == "http://127.0.0.1:9/v1/chat/completions"
    )
    assert targets_of(config, "Qwen/Qwen3-Embedding-8B")[0].upstream.connection.id == "neb"


def test_unknown_inactive_and_unusable_resolve_to_nothing(config: EdgeConfig) -> None:
    assert targets_of(config, "no-such-model") == []
    assert targets_of(config, "groq/llama-3.3-70b-versatile") == []  # inactive
    assert targets_of(config, "loop-a") == []  # alias cycles stop
    assert targets_of(config, "openai/") == []


def test_model_listing(config: EdgeConfig) -> None:
    ids = dict(config.model_ids())
    assert ids["openai/gpt-4o-mini"] == "openai"
    assert ids["nebius/Qwen/Qwen3-Embedding-8B"] == "nebius"
    assert ids["openai-compatible/my-model"] == "openai-compatible"
    assert not any(i.startswith("groq/") for i in ids)
    assert EdgeConfig.empty().model_ids() == []


def test_provider_nodes_are_addressed_by_their_prefix() -> None:
    from shared.config.snapshot import NodeConfig

    config = EdgeConfig(
        Snapshot(
            version=1,
            published_at=0,
            nodes=(
                NodeConfig(
                    id="n1",
                    prefix="mycorp",
                    name="Corp",
                    type="anthropic-compatible",
                    base_url="http://10.0.0.5/",
                    api_key="k",
                    models=("corp-large",),
                ),
            ),
        )
    )
    [target] = targets_of(config, "mycorp/corp-large")
    assert target.upstream.dialect == "anthropic"
    assert ("x-api-key", "k") in target.upstream.auth_headers
    assert target.upstream.base_url == "http://10.0.0.5"
    assert targets_of(config, "corp-large")[0].upstream.spec.id == "mycorp"
    assert ("mycorp/corp-large", "mycorp") in config.model_ids()


def test_azure_urls_name_the_deployment_and_api_version() -> None:
    config = EdgeConfig(
        Snapshot(
            version=1,
            published_at=0,
            connections=(
                connection(
                    "az",
                    "azure",
                    base_url="https://res.openai.azure.com",
                    extra={"deployment": "prod-4o", "apiVersion": "2025-01-01-preview"},
                    models=("gpt-4o",),
                ),
            ),
        )
    )
    [target] = targets_of(config, "azure/gpt-4o")
    url = target.upstream.url(UpstreamCall("/chat/completions", b""), target.model)
    assert (
        url == "https://res.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2025-01-01-preview"
    )
    assert ("api-key", "sk-x") in target.upstream.auth_headers
