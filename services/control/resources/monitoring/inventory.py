"""The providers configured in Postgres: which have a connection, which an active one."""

from __future__ import annotations

from dataclasses import dataclass

from services.control.db.types import Executor
from shared.providers.catalog import find_provider

__all__ = ["Inventory", "read_inventory"]


@dataclass(frozen=True, slots=True)
class Inventory:
    configured: frozenset[str]  # providers (as the edge names their breakers) with at least one connection
    active: frozenset[str]  # ... with at least one active connection
    connection_providers: dict[str, str]  # connection id (text) -> provider, to place cooldowns


def breaker_name(provider: str) -> str:
    """As the edge names a provider's breaker: the catalog id for an id or alias, else the lower-cased prefix."""
    spec = find_provider(provider)
    return spec.id if spec is not None else provider.lower()


async def read_inventory(db: Executor) -> Inventory:
    """Provider connections and provider nodes (a node is its own provider, named by its prefix)."""
    rows = await db.fetch(
        """SELECT id::text AS id, provider, is_active FROM provider_connections
           UNION ALL
           SELECT id::text AS id, prefix AS provider, is_active FROM provider_nodes"""
    )
    configured: set[str] = set()
    active: set[str] = set()
    owners: dict[str, str] = {}
    for row in rows:
        name = breaker_name(row["provider"])
        configured.add(name)
        if row["is_active"]:
            active.add(name)
        owners[row["id"]] = name
    return Inventory(frozenset(configured), frozenset(active), owners)
