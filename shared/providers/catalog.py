"""The provider catalog. An OpenAI-compatible vendor is one entry here, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shared.providers.spec import AuthStyle, ProviderSpec

__all__ = ["PROVIDERS", "find_provider"]

_OPENAI_CHAT = "openai_chat"

_CATALOG: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        id="openai",
        name="OpenAI",
        dialect=_OPENAI_CHAT,
        base_url="https://api.openai.com/v1",
        aliases=("oai",),
        models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini"),
    ),
    ProviderSpec(
        id="openrouter",
        name="OpenRouter",
        dialect=_OPENAI_CHAT,
        base_url="https://openrouter.ai/api/v1",
        aliases=("or",),
        models=("openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash"),
    ),
    ProviderSpec(
        id="together",
        name="Together AI",
        dialect=_OPENAI_CHAT,
        base_url="https://api.together.xyz/v1",
        aliases=("tg",),
        models=("meta-llama/Llama-3.3-70B-Instruct-Turbo", "Qwen/Qwen2.5-72B-Instruct-Turbo"),
    ),
    ProviderSpec(
        id="fireworks",
        name="Fireworks AI",
        dialect=_OPENAI_CHAT,
        base_url="https://api.fireworks.ai/inference/v1",
        aliases=("fw",),
        models=("accounts/fireworks/models/llama-v3p1-70b-instruct",),
    ),
    ProviderSpec(
        id="nebius",
        name="Nebius AI Studio",
        dialect=_OPENAI_CHAT,
        base_url="https://api.studio.nebius.com/v1",
        aliases=("nb",),
        models=("meta-llama/Meta-Llama-3.1-70B-Instruct", "Qwen/Qwen3-235B-A22B"),
    ),
    ProviderSpec(
        id="mistral",
        name="Mistral AI",
        dialect=_OPENAI_CHAT,
        base_url="https://api.mistral.ai/v1",
        aliases=("mis",),
        models=("mistral-large-latest", "mistral-small-latest", "codestral-latest"),
    ),
    ProviderSpec(
        id="nvidia",
        name="NVIDIA NIM",
        dialect=_OPENAI_CHAT,
        base_url="https://integrate.api.nvidia.com/v1",
        aliases=("nv",),
        models=("meta/llama-3.1-70b-instruct", "nvidia/llama-3.1-nemotron-70b-instruct"),
    ),
    ProviderSpec(
        id="xai",
        name="xAI",
        dialect=_OPENAI_CHAT,
        base_url="https://api.x.ai/v1",
        aliases=("grok",),
        models=("grok-4", "grok-3-mini"),
    ),
    ProviderSpec(
        id="groq",
        name="Groq",
        dialect=_OPENAI_CHAT,
        base_url="https://api.groq.com/openai/v1",
        aliases=("gq",),
        models=("llama-3.3-70b-versatile", "llama-3.1-8b-instant"),
    ),
    ProviderSpec(
        id="deepseek",
        name="DeepSeek",
        dialect=_OPENAI_CHAT,
        base_url="https://api.deepseek.com/v1",
        aliases=("ds",),
        models=("deepseek-chat", "deepseek-reasoner"),
    ),
    ProviderSpec(
        id="github",
        name="GitHub Models",
        dialect=_OPENAI_CHAT,
        base_url="https://models.github.ai/inference",
        aliases=("ghm",),
        models=("openai/gpt-4o-mini", "openai/gpt-4.1"),
    ),
    ProviderSpec(
        id="openai-compatible",
        name="Any OpenAI-compatible endpoint",
        dialect=_OPENAI_CHAT,
        base_url=None,
        aliases=("compat",),
        requires_api_key=False,
    ),
    ProviderSpec(
        id="demo",
        name="Built-in demo (the fake upstream)",
        dialect=_OPENAI_CHAT,
        base_url=None,
        auth=AuthStyle.BEARER,
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
