"""Architecture rules as tests: who may import what (ARCHITECTURE.md decisions 1, 2, 14).

- `shared` imports no web framework, no database driver and no service.
- A service imports `shared` and never another service; the edge never touches Postgres.
- `services.cli` is the composition root that starts the services, so it may name them all.
- Only `shared/jsonx.py` imports orjson; nothing imports pickle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("edge", "control", "workers", "fake_upstream")
WEB_AND_DB = ("litestar", "granian", "asyncpg", "aiohttp", "arq", "starlette", "fastapi", "psycopg")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in paths:
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_shared_imports_no_framework_no_driver_no_service() -> None:
    assert offending(modules("shared"), (*WEB_AND_DB, "services")) == []


@pytest.mark.parametrize("service", SERVICES)
def test_services_do_not_import_each_other(service: str) -> None:
    others = tuple(f"services.{name}" for name in (*SERVICES, "cli") if name != service)
    assert offending(modules(f"services/{service}"), others) == []


def test_the_outbound_library_imports_no_service() -> None:
    """services/outbound is a library the control plane and the workers share, not a service."""
    services = tuple(f"services.{name}" for name in (*SERVICES, "cli"))
    assert offending(modules("services/outbound"), services) == []


def test_the_edge_never_touches_postgres() -> None:
    assert offending(modules("services/edge"), ("asyncpg", "psycopg", "sqlalchemy")) == []


def test_json_goes_through_jsonx_and_nothing_unpickles() -> None:
    everything = modules("shared") + modules("services")
    jsonx = ROOT / "shared" / "jsonx.py"
    assert offending([p for p in everything if p != jsonx], ("orjson",)) == []
    assert offending(everything, ("pickle", "marshal", "shelve")) == []


def test_no_eval_or_exec_in_product_code() -> None:
    for path in modules("shared") + modules("services"):
        tree = ast.parse(path.read_text())
        calls = {
            node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & {"eval", "exec"}, path
