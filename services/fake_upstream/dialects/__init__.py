"""One module per provider dialect the fake speaks; each exports `routes()`."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["DIALECT_MODULES", "loaded"]

DIALECT_MODULES = ("openai_chat", "openai_responses", "anthropic", "gemini", "ollama")


def loaded() -> list[ModuleType]:
    modules = []
    for name in DIALECT_MODULES:
        try:
            modules.append(importlib.import_module(f"services.fake_upstream.dialects.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"services.fake_upstream.dialects.{name}":
                raise
    return modules
