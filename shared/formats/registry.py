"""Every dialect by name. Each lives in `shared/formats/<name>/` and exports `DIALECT`."""

from __future__ import annotations

import importlib
from functools import cache

from shared.formats.base import Dialect

__all__ = ["DIALECT_NAMES", "all_dialects", "get_dialect"]

DIALECT_NAMES = ("openai_chat", "openai_responses", "anthropic", "gemini", "ollama")


@cache
def get_dialect(name: str) -> Dialect:
    if name not in DIALECT_NAMES:
        raise KeyError(f"unknown dialect {name!r}")
    dialect: Dialect = importlib.import_module(f"shared.formats.{name}").DIALECT
    return dialect


def all_dialects() -> tuple[Dialect, ...]:
    return tuple(get_dialect(name) for name in DIALECT_NAMES)
