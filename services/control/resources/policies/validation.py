"""The rules a routing policy satisfies before it is stored (values are snake_case columns)."""

from __future__ import annotations

import uuid
from typing import Any

from services.control.db.types import Conn
from services.control.errors import InvalidField
from services.control.resources.names import check_printable, provider_id

__all__ = ["validate"]


def _check_hours(values: dict[str, Any]) -> None:
    start, end = values["hour_from"], values["hour_to"]
    if (start is None) != (end is None):
        raise InvalidField(
            "hourFrom" if start is None else "hourTo", "hourFrom and hourTo are given together or not at all"
        )
    if start is not None and start >= end:
        raise InvalidField("hourTo", "must be greater than hourFrom (the window is [hourFrom, hourTo) in UTC)")


async def _check_keys(conn: Conn, key_ids: list[uuid.UUID]) -> None:
    found = {row["id"] for row in await conn.fetch("SELECT id FROM api_keys WHERE id = ANY($1::uuid[])", key_ids)}
    for index, key_id in enumerate(key_ids):
        if key_id not in found:
            raise InvalidField(f"keyIds[{index}]", "no API key has this id")


async def validate(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the snake_case column values in place; raises InvalidField naming the field."""
    values["name"] = values["name"].strip()
    if not values["name"]:
        raise InvalidField("name", "must not be blank")
    check_printable("name", values["name"])
    for index, glob in enumerate(values["models"]):
        check_printable(f"models[{index}]", glob)
    key_ids = [uuid.UUID(str(key)) for key in values["key_ids"]]
    await _check_keys(conn, key_ids)
    values["key_ids"] = list(dict.fromkeys(key_ids))
    values["days"] = sorted(set(values["days"]))
    _check_hours(values)
    nodes = {row["prefix"] for row in await conn.fetch("SELECT prefix FROM provider_nodes")}
    preferred: list[str] = []
    for index, name in enumerate(values["prefer_providers"]):
        provider = provider_id(name, nodes)
        if provider is None:
            raise InvalidField(f"preferProviders[{index}]", f"unknown provider {name[:64]!r}")
        if provider not in preferred:
            preferred.append(provider)
    values["prefer_providers"] = preferred
    return values
