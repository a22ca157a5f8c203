"""The audit log: one row per mutation, written inside the mutation's own transaction.

Shared by the control plane and the workers (an OAuth rotation in the worker is audited too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.sql import Connection

__all__ = ["Actor", "record", "scrub"]

_SECRET_FIELDS = {
    "apikey",
    "api_key",
    "key",
    "password",
    "secret",
    "token",
    "accesstoken",
    "refreshtoken",
    "access_token",
    "refresh_token",
    "client_secret",
    "clientsecret",
    "key_hash",
    "keyhash",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, from which address, under which request id."""

    name: str
    request_id: str
    client_ip: str | None


def scrub(value: Any) -> Any:
    """Remove secret values at any depth, keeping the shape so diffs stay readable."""
    if isinstance(value, dict):
        return {
            k: ("[REDACTED]" if k.lower() in _SECRET_FIELDS and v is not None else scrub(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


async def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    await conn.execute(
        """INSERT INTO audit_log (actor, action, target_type, target_id, before, after, request_id, client_ip)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        actor.name,
        action,
        target_type,
        target_id,
        scrub(before),
        scrub(after),
        actor.request_id,
        actor.client_ip,
    )
