"""Local secrets for `omniroute up`: generated once, private, never overriding the environment."""

from __future__ import annotations

import stat
from pathlib import Path

from services.cli.secrets_file import apply_secrets_file
from shared.settings import SECRET_VARIABLES, load_settings


def test_up_generates_missing_secrets_once(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    path = apply_secrets_file(tmp_path, env, generate=True)
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(SECRET_VARIABLES) <= set(env)
    load_settings(env).require(*SECRET_VARIABLES)  # valid lengths
    again: dict[str, str] = {}
    apply_secrets_file(tmp_path, again, generate=True)
    assert again == env  # stable across restarts


def test_environment_wins_and_other_commands_only_read(tmp_path: Path) -> None:
    env = {"INITIAL_PASSWORD": "from-the-environment"}
    apply_secrets_file(tmp_path, env, generate=True)
    assert env["INITIAL_PASSWORD"] == "from-the-environment"
    assert "from-the-environment" not in (tmp_path / "secrets.env").read_text()
    fresh: dict[str, str] = {}
    assert apply_secrets_file(tmp_path / "elsewhere", fresh, generate=False) is None
    assert fresh == {}


def test_production_never_reads_or_writes_the_file(tmp_path: Path) -> None:
    env = {"OMNIROUTE_ENV": "production"}
    assert apply_secrets_file(tmp_path, env, generate=True) is None
    assert not (tmp_path / "secrets.env").exists()
    assert set(env) == {"OMNIROUTE_ENV"}
