"""GET /api/cli-tools/{tool}-settings and GET /api/cli-tools/runtime/{toolId}.

Runtime: is the tool installed and runnable where the control plane runs (`runtimeMode` says
whether that is a host or a container). Settings: the runtime status plus how to point the tool at
this gateway's edge (OMNIROUTE_PUBLIC_URL when set, else the edge's local address).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath

from services.control.context import control_state
from services.control.errors import ApiError
from services.control.resources.cli_tools.runtime import RuntimeMode, RuntimeStatus, probe
from services.control.resources.cli_tools.tools import TOOLS, CliToolSettings, CliToolSpec
from shared.settings import Settings

__all__ = [
    "CliToolAnswer",
    "CliToolRuntime",
    "claude_settings",
    "cli_tool_runtime",
    "codex_settings",
    "droid_settings",
    "openclaw_settings",
]


class CliToolRuntime(msgspec.Struct, kw_only=True, rename="camel"):
    tool_id: str
    name: str
    installed: bool
    runnable: bool
    command: str
    command_path: str | None
    runtime_mode: RuntimeMode
    reason: str | None  # None when runnable; else not_found, not_executable, timeout, exit_status_<n>, spawn_error
    version: str | None


class CliToolAnswer(CliToolRuntime, kw_only=True, rename="camel"):
    settings: CliToolSettings


def edge_base_url(settings: Settings) -> str:
    """Where clients reach the edge: the configured public URL, else the edge's local address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host
    if host in ("0.0.0.0", ""):  # noqa: S104 (a wildcard listener is reached on loopback locally)
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.edge_port}"


def _runtime(spec: CliToolSpec, status: RuntimeStatus) -> dict[str, Any]:
    return {
        "tool_id": spec.id,
        "name": spec.name,
        "installed": status.installed,
        "runnable": status.runnable,
        "command": status.command,
        "command_path": status.command_path,
        "runtime_mode": status.runtime_mode,
        "reason": status.reason,
        "version": status.version,
    }


async def _answer(request: Request[Any, Any, Any], tool_id: str) -> CliToolAnswer:
    spec = TOOLS[tool_id]
    status = await probe(spec.command)
    settings = spec.settings(edge_base_url(control_state(request).settings))
    return CliToolAnswer(**_runtime(spec, status), settings=settings)


@get("/api/cli-tools/runtime/{tool_id:str}", tags=["cli-tools"])
async def cli_tool_runtime(tool_id: FromPath[str]) -> CliToolRuntime:
    """Whether the tool (claude, codex, droid, openclaw) is installed and runnable on the control plane's host."""
    spec = TOOLS.get(tool_id)
    if spec is None:
        raise ApiError(404, f"unknown CLI tool; known tools: {', '.join(TOOLS)}", "not_found")
    return CliToolRuntime(**_runtime(spec, await probe(spec.command)))


@get("/api/cli-tools/claude-settings", tags=["cli-tools"])
async def claude_settings(request: Request[Any, Any, Any]) -> CliToolAnswer:
    """Claude Code: runtime status and the settings that point it at this gateway."""
    return await _answer(request, "claude")


@get("/api/cli-tools/codex-settings", tags=["cli-tools"])
async def codex_settings(request: Request[Any, Any, Any]) -> CliToolAnswer:
    """OpenAI Codex CLI: runtime status and the settings that point it at this gateway."""
    return await _answer(request, "codex")


@get("/api/cli-tools/droid-settings", tags=["cli-tools"])
async def droid_settings(request: Request[Any, Any, Any]) -> CliToolAnswer:
    """Factory Droid: runtime status and the settings that point it at this gateway."""
    return await _answer(request, "droid")


@get("/api/cli-tools/openclaw-settings", tags=["cli-tools"])
async def openclaw_settings(request: Request[Any, Any, Any]) -> CliToolAnswer:
    """OpenClaw: runtime status and the settings that point it at this gateway."""
    return await _answer(request, "openclaw")
