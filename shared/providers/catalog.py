"""The provider catalog. An OpenAI-compatible vendor is one entry here, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shared.providers.spec import AuthStyle, Price, ProviderSpec, UrlStyle

__all__ = ["PROVIDERS", "find_provider"]

_CHAT = "openai_chat"

_CATALOG: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        id="openai",
        name="OpenAI",
        dialect=_CHAT,
        base_url="https://api.openai.com/v1",
        aliases=("oai",),
        models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini"),
        prices={
            "gpt-4o": Price(2.5, 10.0, cached=1.25),
            "gpt-4o-mini": Price(0.15, 0.6, cached=0.075),
            "gpt-4.1": Price(2.0, 8.0, cached=0.5),
            "gpt-4.1-mini": Price(0.4, 1.6, cached=0.1),
            "o3": Price(2.0, 8.0, cached=0.5),
            "o4-mini": Price(1.1, 4.4, cached=0.275),
        },
    ),
    ProviderSpec(
        id="openai-responses",
        name="OpenAI (Responses API)",
        dialect="openai_responses",
        base_url="https://api.openai.com/v1",
        aliases=("oair",),
        models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "o4-mini", "gpt-5"),
    ),
    ProviderSpec(
        id="anthropic",
        name="Anthropic",
        dialect="anthropic",
        base_url="https://api.anthropic.com",
        auth=AuthStyle.X_API_KEY,
        aliases=("claude",),
        models=("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"),
        prices={
            "claude-sonnet-4-5": Price(3.0, 15.0, cached=0.3),
            "claude-opus-4-1": Price(15.0, 75.0, cached=1.5),
            "claude-haiku-4-5": Price(1.0, 5.0, cached=0.1),
        },
    ),
    ProviderSpec(
        id="gemini",
        name="Google Gemini",
        dialect="gemini",
        base_url="https://generativelanguage.googleapis.com",
        auth=AuthStyle.GOOG_API_KEY,
        aliases=("google",),
        models=("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"),
        prices={
            "gemini-2.5-pro": Price(1.25, 10.0, cached=0.31),
            "gemini-2.5-flash": Price(0.3, 2.5, cached=0.075),
            "gemini-2.5-flash-lite": Price(0.1, 0.4, cached=0.025),
        },
    ),
    ProviderSpec(
        id="ollama",
        name="Ollama",
        dialect="ollama",
        base_url="http://127.0.0.1:11434",
        auth=AuthStyle.BEARER,
        models=("llama3.2", "qwen3", "gemma3"),
        requires_api_key=False,
        text_only=frozenset({"qwen3"}),
    ),
    ProviderSpec(
        id="azure",
        name="Azure OpenAI",
        dialect=_CHAT,
        base_url=None,  # https://<resource>.openai.azure.com
        auth=AuthStyle.API_KEY_HEADER,
        aliases=("aoai",),
        url_style=UrlStyle.AZURE,
    ),
    ProviderSpec(
        id="openrouter",
        name="OpenRouter",
        dialect=_CHAT,
        base_url="https://openrouter.ai/api/v1",
        aliases=("or",),
        models=("openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash"),
    ),
    ProviderSpec(
        id="together",
        name="Together AI",
        dialect=_CHAT,
        base_url="https://api.together.xyz/v1",
        aliases=("tg",),
        models=("meta-llama/Llama-3.3-70B-Instruct-Turbo", "Qwen/Qwen2.5-72B-Instruct-Turbo"),
    ),
    ProviderSpec(
        id="fireworks",
        name="Fireworks AI",
        dialect=_CHAT,
        base_url="https://api.fireworks.ai/inference/v1",
        aliases=("fw",),
        models=("accounts/fireworks/models/llama-v3p1-70b-instruct",),
    ),
    ProviderSpec(
        id="nebius",
        name="Nebius AI Studio",
        dialect=_CHAT,
        base_url="https://api.studio.nebius.com/v1",
        aliases=("nb",),
        models=("meta-llama/Meta-Llama-3.1-70B-Instruct", "Qwen/Qwen3-235B-A22B"),
    ),
    ProviderSpec(
        id="mistral",
        name="Mistral AI",
        dialect=_CHAT,
        base_url="https://api.mistral.ai/v1",
        aliases=("mis",),
        models=("mistral-large-latest", "mistral-small-latest", "codestral-latest"),
        text_only=frozenset({"codestral-latest"}),
    ),
    ProviderSpec(
        id="nvidia",
        name="NVIDIA NIM",
        dialect=_CHAT,
        base_url="https://integrate.api.nvidia.com/v1",
        aliases=("nv",),
        models=("meta/llama-3.1-70b-instruct", "nvidia/llama-3.1-nemotron-70b-instruct"),
        text_only=frozenset({"meta/llama-3.1-70b-instruct", "nvidia/llama-3.1-nemotron-70b-instruct"}),
    ),
    ProviderSpec(
        id="xai",
        name="xAI",
        dialect=_CHAT,
        base_url="https://api.x.ai/v1",
        aliases=("grok",),
        models=("grok-4", "grok-3-mini"),
    ),
    ProviderSpec(
        id="groq",
        name="Groq",
        dialect=_CHAT,
        base_url="https://api.groq.com/openai/v1",
        aliases=("gq",),
        models=("llama-3.3-70b-versatile", "llama-3.1-8b-instant"),
        text_only=frozenset({"llama-3.3-70b-versatile", "llama-3.1-8b-instant"}),
    ),
    ProviderSpec(
        id="deepseek",
        name="DeepSeek",
        dialect=_CHAT,
        base_url="https://api.deepseek.com/v1",
        aliases=("ds",),
        models=("deepseek-chat", "deepseek-reasoner"),
        echo_reasoning=True,
        text_only=frozenset({"deepseek-chat", "deepseek-reasoner"}),
        prices={"deepseek-chat": Price(0.27, 1.1, cached=0.07), "deepseek-reasoner": Price(0.55, 2.19, cached=0.14)},
    ),
    ProviderSpec(
        id="github",
        name="GitHub Models",
        dialect=_CHAT,
        base_url="https://models.github.ai/inference",
        aliases=("ghm",),
        models=("openai/gpt-4o-mini", "openai/gpt-4.1"),
    ),
    ProviderSpec(
        id="openai-compatible",
        name="Any OpenAI-compatible endpoint",
        dialect=_CHAT,
        base_url=None,
        aliases=("compat",),
        requires_api_key=False,
    ),
    ProviderSpec(
        id="anthropic-compatible",
        name="Any Anthropic-compatible endpoint",
        dialect="anthropic",
        base_url=None,
        auth=AuthStyle.X_API_KEY,
        requires_api_key=False,
    ),
    ProviderSpec(
        id="demo",
        name="Built-in demo (the fake upstream)",
        dialect=_CHAT,
        base_url=None,
        models=("gpt-4o-mini", "demo-chat"),
        requires_api_key=False,
    ),
)

PROVIDERS: Mapping[str, ProviderSpec] = MappingProxyType({spec.id: spec for spec in _CATALOG})
_BY_NAME: Mapping[str, ProviderSpec] = MappingProxyType(
    {name: spec for spec in _CATALOG for name in (spec.id, *spec.aliases)}
)


def find_provider(id_or_alias: str) -> ProviderSpec | None:
    return _BY_NAME.get(id_or_alias.lower())
