"""Names and providers for the connection ids found in Redis (provider connections and provider nodes).

Redis keys carry only ids; the edge uses a provider node's id as its connection id and the node's
prefix as its provider, so both tables are searched. Ids that are no longer in Postgres (deleted
since) are simply absent from the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from services.control.db.types import Executor

__all__ = ["ConnectionName", "connection_names", "provider_connection_ids"]


@dataclass(frozen=True, slots=True)
class ConnectionName:
    name: str
    provider: str


def _uuids(ids: Iterable[str]) -> list[str]:
    """Only canonical UUIDs can name a row; anything else in Redis would make the cast fail."""
    found: list[str] = []
    for ident in ids:
        try:
            if str(uuid.UUID(ident)) == ident:
                found.append(ident)
        except ValueError:
            continue
    return found


async def connection_names(db: Executor, ids: Iterable[str]) -> dict[str, ConnectionName]:
    wanted = _uuids(set(ids))
    if not wanted:
        return {}
    rows = await db.fetch(
        """SELECT id::text AS id, name, provider FROM provider_connections WHERE id = ANY($1::uuid[])
           UNION ALL
           SELECT id::text AS id, name, prefix AS provider FROM provider_nodes WHERE id = ANY($1::uuid[])""",
        wanted,
    )
    return {row["id"]: ConnectionName(row["name"], row["provider"]) for row in rows}


async def provider_connection_ids(db: Executor, provider: str) -> list[str]:
    """Every connection of a provider, active or not (a deactivated one may still be cooling)."""
    rows = await db.fetch(
        """SELECT id::text AS id FROM provider_connections WHERE provider = $1
           UNION
           SELECT id::text AS id FROM provider_nodes WHERE prefix = $1
           ORDER BY id""",
        provider,
    )
    return [row["id"] for row in rows]
