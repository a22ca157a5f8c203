"""What a model string can name, read inside the writing transaction.

Aliases, combos and policies all refer to the same namespace the edge resolves (SPEC §2, model
addressing): `provider/model` with a catalog provider id or alias or a provider node's prefix, a
user alias, a combo name, or a bare model some provider lists. Every configuration write bumps the
`config_version` row first, which serialises writers, so what is read here after that is current.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from services.control.db.types import Conn
from services.control.errors import ApiError, InvalidField
from shared.providers.catalog import PROVIDERS, find_provider

__all__ = [
    "MAX_ALIAS_CHAIN",
    "MAX_COMBO_DEPTH",
    "NAME_PATTERN",
    "Names",
    "check_name",
    "check_printable",
    "combo_refs",
    "load_names",
    "provider_id",
    "taken",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
MAX_ALIAS_CHAIN = 4  # aliases on one chain; the router follows up to shared/routing/route.py MAX_DEPTH
MAX_COMBO_DEPTH = 5  # combos on the longest reference chain, the top one included

_NAME = re.compile(NAME_PATTERN)
_CATALOG_MODELS = frozenset(model for spec in PROVIDERS.values() for model in spec.models)


def provider_id(prefix: str, nodes: Collection[str]) -> str | None:
    """The canonical provider id for a catalog id or alias, or a provider node's prefix; else None."""
    spec = find_provider(prefix)
    if spec is not None:
        return spec.id
    lowered = prefix.lower()  # as the edge does: a node's prefix is its provider id
    return lowered if lowered in nodes else None


@dataclass(slots=True)
class Names:
    nodes: set[str]  # provider node prefixes
    combos: dict[str, list[str]]  # combo name -> the combos its steps reference
    aliases: dict[str, str]  # alias -> target
    models: set[str]  # bare model ids some provider, connection or node lists

    def provider(self, prefix: str) -> str | None:
        return provider_id(prefix, self.nodes)

    def split(self, target: str) -> tuple[str, str] | None:
        """(provider id, model) when `target` is `provider/model` with a known provider."""
        prefix, slash, rest = target.partition("/")
        if not slash or not rest:
            return None
        provider = self.provider(prefix)
        return (provider, rest) if provider is not None else None

    def resolves(self, target: str) -> bool:
        return (
            self.split(target) is not None or target in self.combos or target in self.aliases or target in self.models
        )

    def alias_referrers(self, target: str) -> list[str]:
        return sorted(alias for alias, model in self.aliases.items() if model == target)

    def combo_referrers(self, name: str) -> list[str]:
        return sorted(combo for combo, refs in self.combos.items() if name in refs)


def combo_refs(steps: object) -> list[str]:
    """The combo names a stored `steps` value references."""
    if not isinstance(steps, list):
        return []
    return [str(step["combo"]) for step in steps if isinstance(step, dict) and step.get("combo")]


async def load_names(conn: Conn) -> Names:
    nodes = await conn.fetch("SELECT prefix, models FROM provider_nodes")
    combos = await conn.fetch("SELECT name, steps FROM combos")
    aliases = await conn.fetch("SELECT alias, model FROM model_aliases")
    connections = await conn.fetch("SELECT models, default_model FROM provider_connections")
    custom = await conn.fetch("SELECT model FROM provider_models")
    models = set(_CATALOG_MODELS) | {row["model"] for row in custom}
    for row in nodes:
        models.update(row["models"])
    for row in connections:
        models.update(row["models"])
        if row["default_model"]:
            models.add(row["default_model"])
    return Names(
        nodes={row["prefix"] for row in nodes},
        combos={row["name"]: combo_refs(row["steps"]) for row in combos},
        aliases={row["alias"]: row["model"] for row in aliases},
        models=models,
    )


def check_printable(field: str, value: str) -> None:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidField(field, "must not contain control characters")


def check_name(field: str, name: str, names: Names) -> None:
    """An alias or combo name: the shared pattern, and never shaped like `provider/...`."""
    prefix, slash, _ = name.partition("/")
    if slash and names.provider(prefix) is not None:
        raise InvalidField(field, f"must not start with the provider prefix {prefix[:64]!r} followed by '/'")
    if not _NAME.match(name):
        raise InvalidField(field, f"must match {NAME_PATTERN}")


def taken(field: str, what: str, name: str) -> ApiError:
    """409: the name is already used in the model namespace (by an alias or a combo)."""
    return ApiError(
        409,
        f"{field}: {name!r} is already the name of {what}",
        "conflict",
        [{"field": field, "message": f"is already the name of {what}"}],
    )
