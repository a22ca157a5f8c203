"""GET /api/cli-tools/*: installed/runnable detection with fake executables on a temporary PATH."""

from __future__ import annotations

import dataclasses
import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.control.app import create_app
from services.control.resources.cli_tools import runtime
from shared.settings import Settings
from tests.support.auth import login

TOOLS = ("claude", "codex", "droid", "openclaw")
SLEEP = shutil.which("sleep") or "/bin/sleep"  # resolved before the tests narrow PATH


def fake_tool(directory: Path, name: str, script: str, executable: bool = True) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(stat.S_IRWXU if executable else stat.S_IRUSR | stat.S_IWUSR)
    return path


@pytest.fixture
def tool_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Only the temporary directory is on PATH: whatever the host has installed does not count."""
    monkeypatch.setenv("PATH", str(tmp_path))
    return tmp_path


async def runtime_of(admin: AsyncTestClient, tool: str) -> dict[str, Any]:
    response = await admin.get(f"/api/cli-tools/runtime/{tool}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_nothing_installed(admin: AsyncTestClient, tool_path: Path) -> None:
    for tool in TOOLS:
        answer = await runtime_of(admin, tool)
        assert answer == {
            "toolId": tool,
            "name": answer["name"],
            "installed": False,
            "runnable": False,
            "command": tool,
            "commandPath": None,
            "runtimeMode": runtime.runtime_mode(),
            "reason": "not_found",
            "version": None,
        }


async def test_installed_runnable_broken_and_not_executable(admin: AsyncTestClient, tool_path: Path) -> None:
    claude = fake_tool(tool_path, "claude", 'echo "2.0.14 (Claude Code)"; echo second line')
    fake_tool(tool_path, "codex", "echo codex-cli 0.40.0", executable=False)
    fake_tool(tool_path, "droid", "echo broken >&2; exit 3")

    answer = await runtime_of(admin, "claude")
    assert answer["installed"] is True
    assert answer["runnable"] is True
    assert answer["commandPath"] == str(claude)
    assert answer["reason"] is None
    assert answer["version"] == "2.0.14 (Claude Code)"

    answer = await runtime_of(admin, "codex")
    assert (answer["installed"], answer["runnable"], answer["reason"]) == (True, False, "not_executable")

    answer = await runtime_of(admin, "droid")
    assert (answer["installed"], answer["runnable"], answer["reason"]) == (True, False, "exit_status_3")
    assert answer["version"] is None


async def test_a_hanging_tool_times_out(
    admin: AsyncTestClient, tool_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "_VERSION_TIMEOUT_SECONDS", 0.5)
    fake_tool(tool_path, "openclaw", f"{SLEEP} 30")  # a child of the shell: the whole group is killed
    answer = await runtime_of(admin, "openclaw")
    assert (answer["installed"], answer["runnable"], answer["reason"]) == (True, False, "timeout")


async def test_the_tool_gets_no_secrets_and_no_shell(
    admin: AsyncTestClient, tool_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", "do-not-leak-0123456789abcdef0123456789")
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret@db/omniroute")
    fake_tool(tool_path, "claude", 'echo "key=${STORAGE_ENCRYPTION_KEY:-none} db=${DATABASE_URL:-none} args=$*"')
    answer = await runtime_of(admin, "claude")
    assert answer["version"] == "key=none db=none args=--version"


@pytest.mark.parametrize("tool", ["Claude", "cursor", "claude;id", "claude%20", "sh", "x" * 300])
async def test_unknown_tools_are_404(admin: AsyncTestClient, tool_path: Path, tool: str) -> None:
    fake_tool(tool_path, "cursor", "echo 1.0")
    response = await admin.get(f"/api/cli-tools/runtime/{tool}")
    assert response.status_code == 404, response.text
    assert "claude, codex, droid, openclaw" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["..", "claude%2F..", "claude/..", ""])
async def test_paths_that_are_no_tool_are_404(admin: AsyncTestClient, tool_path: Path, path: str) -> None:
    response = await admin.get(f"/api/cli-tools/runtime/{path}")
    assert response.status_code == 404, response.text


async def test_settings_point_each_tool_at_the_edge_with_a_placeholder_key(
    admin: AsyncTestClient, tool_path: Path
) -> None:
    created = (await admin.post("/api/keys", json={"name": "cli"})).json()["key"]
    fake_tool(tool_path, "codex", "echo codex-cli 0.40.0")
    edge = "http://127.0.0.1:20128"
    answers = {}
    for tool in TOOLS:
        response = await admin.get(f"/api/cli-tools/{tool}-settings")
        assert response.status_code == 200, response.text
        assert created not in response.text
        answers[tool] = response.json()

    assert answers["codex"]["installed"] is True
    assert answers["codex"]["runnable"] is True
    assert answers["claude"]["installed"] is False

    claude = answers["claude"]["settings"]
    assert claude["baseUrl"] == edge
    assert claude["env"]["ANTHROPIC_BASE_URL"] == edge
    assert claude["env"]["ANTHROPIC_AUTH_TOKEN"] == claude["apiKeyPlaceholder"]
    assert claude["configPath"] == "~/.claude/settings.json"
    assert json.loads(claude["configSnippet"]) == {"env": claude["env"]}

    codex = answers["codex"]["settings"]
    assert codex["baseUrl"] == f"{edge}/v1"
    assert codex["configFormat"] == "toml"
    assert f'base_url = "{edge}/v1"' in codex["configSnippet"]
    assert 'wire_api = "responses"' in codex["configSnippet"]
    assert codex["env"]["OPENAI_BASE_URL"] == f"{edge}/v1"

    droid = json.loads(answers["droid"]["settings"]["configSnippet"])
    assert droid["customModels"][0]["base_url"] == f"{edge}/v1"
    assert droid["customModels"][0]["api_key"] == answers["droid"]["settings"]["apiKeyPlaceholder"]

    openclaw = json.loads(answers["openclaw"]["settings"]["configSnippet"])
    assert openclaw["models"]["providers"]["omniroute"]["baseUrl"] == f"{edge}/v1"


async def test_a_public_url_is_what_clients_are_told(settings: Settings, redis: Any, clean_db: None) -> None:
    public = dataclasses.replace(settings, public_url="https://ai.example.com/")
    async with AsyncTestClient(app=create_app(public)) as client:
        await login(client)
        answer = (await client.get("/api/cli-tools/claude-settings")).json()
        assert answer["settings"]["env"]["ANTHROPIC_BASE_URL"] == "https://ai.example.com"
        answer = (await client.get("/api/cli-tools/openclaw-settings")).json()
        assert answer["settings"]["baseUrl"] == "https://ai.example.com/v1"
