"""Security rules as tests over the source tree (issue 5: no SQL built from strings, constant-time
comparison of secrets).

- Every query handed to asyncpg is a string literal or a module constant: never an f-string, a
  concatenation, `%` or `.format` at the call site, so no value can become SQL.
- Secrets (signatures, tokens, digests, passwords) are never compared with `==` / `!=`; code uses
  `hmac.compare_digest` (or looks a hash up, which leaks nothing usable).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUERY_METHODS = {"execute", "executemany", "fetch", "fetchrow", "fetchval", "prepare", "cursor"}
# Statements that cannot take parameters, with why the interpolated part is safe.
BUILT_SQL_ALLOWED = {
    "services/control/db/migrate.py": "CREATE DATABASE takes no parameters; the name is quoted as an identifier",
    # Backups copy whole tables: the table and column names are those of the configuration and usage
    # tables as Postgres' information_schema lists them (never from a request or an uploaded file);
    # every value still travels as a parameter.
    "shared/backups/reader.py": "names of the live schema's tables and columns, quoted; the file's values are read",
    "shared/backups/writer.py": "names of the live schema's tables and columns, quoted",
    "shared/backups/store.py": "a constant column list",
    "services/control/resources/backups/restore.py": "names of the live schema's configuration tables, quoted",
}
SECRETISH = re.compile(r"(secret|signature|token|password|digest|key_hash|csrf)", re.IGNORECASE)
# Compared with == for reasons other than authentication (values are not secrets).
NOT_SECRET_NAMES = re.compile(r"(max_tokens|tokens?_?(count|used|limit)|_tokens$|token_count|thinking)", re.IGNORECASE)


def _sources() -> list[Path]:
    return sorted([*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")])


def _is_built_string(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(value, ast.FormattedValue) for value in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"format", "join"}


def test_no_query_is_built_from_strings_at_the_call_site() -> None:
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUERY_METHODS
                and node.args
                and _is_built_string(node.args[0])
                and path.relative_to(ROOT).as_posix() not in BUILT_SQL_ALLOWED
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _is_plain_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool | int))


def test_secrets_are_never_compared_with_equality() -> None:
    offenders = []
    for path in _sources():
        if "shared/formats" in path.as_posix():  # dialect code: "signature" there is a thinking-block field
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Compare) or not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            sides = [node.left, *node.comparators]
            if any(_is_plain_constant(side) for side in sides):
                continue
            names = [_name(side) for side in sides]
            if any(SECRETISH.search(n) and not NOT_SECRET_NAMES.search(n) for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {' vs '.join(names)}")
    assert not offenders, offenders
