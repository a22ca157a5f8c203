"""The CLI tools we know, and the settings that point each at this gateway.

The settings are advice to copy, never written to the host: environment variables, the config
file the tool reads and a snippet for it. The API key is always a placeholder (a raw key is shown
once, when created through /api/keys, and never again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import msgspec

__all__ = ["API_KEY_PLACEHOLDER", "MODEL_PLACEHOLDER", "TOOLS", "CliToolSettings", "CliToolSpec"]

API_KEY_PLACEHOLDER = "<your OmniRoute API key>"
MODEL_PLACEHOLDER = "<provider/model or combo, e.g. openai/gpt-4o-mini>"

ConfigFormat = Literal["json", "toml"]


class CliToolSettings(msgspec.Struct, kw_only=True, rename="camel"):
    base_url: str  # what the tool calls (the edge; with /v1 where the tool expects it)
    env: dict[str, str]  # variables to export; the key is a placeholder
    config_path: str  # the file the tool reads, relative to the user's home
    config_format: ConfigFormat
    config_snippet: str  # the part of that file that routes the tool here
    api_key_placeholder: str
    notes: str


@dataclass(frozen=True, slots=True)
class CliToolSpec:
    id: str
    name: str
    command: str
    settings: Callable[[str], CliToolSettings]  # edge base URL (no trailing slash) -> settings


def _json(value: object) -> str:
    return json.dumps(value, indent=2)


def _claude(edge: str) -> CliToolSettings:
    env = {
        "ANTHROPIC_BASE_URL": edge,
        "ANTHROPIC_AUTH_TOKEN": API_KEY_PLACEHOLDER,
        "ANTHROPIC_MODEL": MODEL_PLACEHOLDER,
    }
    return CliToolSettings(
        base_url=edge,
        env=env,
        config_path="~/.claude/settings.json",
        config_format="json",
        config_snippet=_json({"env": env}),
        api_key_placeholder=API_KEY_PLACEHOLDER,
        notes="Claude Code speaks the Anthropic Messages API; the edge serves it at /v1/messages.",
    )


def _codex(edge: str) -> CliToolSettings:
    base = f"{edge}/v1"
    snippet = "\n".join(
        [
            'model_provider = "omniroute"',
            f'model = "{MODEL_PLACEHOLDER}"',
            "",
            "[model_providers.omniroute]",
            'name = "OmniRoute"',
            f'base_url = "{base}"',
            'env_key = "OMNIROUTE_API_KEY"',
            'wire_api = "responses"',
            "",
        ]
    )
    return CliToolSettings(
        base_url=base,
        env={"OMNIROUTE_API_KEY": API_KEY_PLACEHOLDER, "OPENAI_BASE_URL": base, "OPENAI_API_KEY": API_KEY_PLACEHOLDER},
        config_path="~/.codex/config.toml",
        config_format="toml",
        config_snippet=snippet,
        api_key_placeholder=API_KEY_PLACEHOLDER,
        notes="Codex uses the OpenAI Responses API; the edge serves it at /v1/responses.",
    )


def _droid(edge: str) -> CliToolSettings:
    base = f"{edge}/v1"
    model = {
        "model_display_name": "OmniRoute",
        "model": MODEL_PLACEHOLDER,
        "base_url": base,
        "api_key": API_KEY_PLACEHOLDER,
        "provider": "generic-chat-completion-api",
    }
    return CliToolSettings(
        base_url=base,
        env={"OPENAI_BASE_URL": base, "OPENAI_API_KEY": API_KEY_PLACEHOLDER},
        config_path="~/.factory/settings.json",
        config_format="json",
        config_snippet=_json({"customModels": [model]}),
        api_key_placeholder=API_KEY_PLACEHOLDER,
        notes="Factory Droid reaches the gateway as a custom OpenAI-compatible (Chat Completions) model.",
    )


def _openclaw(edge: str) -> CliToolSettings:
    base = f"{edge}/v1"
    config = {
        "models": {
            "providers": {
                "omniroute": {
                    "baseUrl": base,
                    "apiKey": API_KEY_PLACEHOLDER,
                    "api": "openai-completions",
                    "models": [{"id": MODEL_PLACEHOLDER, "name": MODEL_PLACEHOLDER}],
                }
            }
        },
        "agents": {"defaults": {"model": {"primary": f"omniroute/{MODEL_PLACEHOLDER}"}}},
    }
    return CliToolSettings(
        base_url=base,
        env={"OPENAI_BASE_URL": base, "OPENAI_API_KEY": API_KEY_PLACEHOLDER},
        config_path="~/.openclaw/openclaw.json",
        config_format="json",
        config_snippet=_json(config),
        api_key_placeholder=API_KEY_PLACEHOLDER,
        notes="OpenClaw reaches the gateway as an OpenAI-compatible (Chat Completions) provider named omniroute.",
    )


TOOLS: dict[str, CliToolSpec] = {
    spec.id: spec
    for spec in (
        CliToolSpec("claude", "Claude Code", "claude", _claude),
        CliToolSpec("codex", "OpenAI Codex CLI", "codex", _codex),
        CliToolSpec("droid", "Factory Droid", "droid", _droid),
        CliToolSpec("openclaw", "OpenClaw", "openclaw", _openclaw),
    )
}
