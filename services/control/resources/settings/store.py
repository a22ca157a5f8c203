"""Reading and writing one typed settings row: the write merges (or replaces) the given fields,
records the audit row in the same transaction and publishes a snapshot on commit."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import InvalidField
from services.control.resources.settings.rules import SettingsRow, merged, typed

__all__ = ["read_row", "write_row"]


async def read_row(request: Request[Any, Any, Any], row: SettingsRow) -> Any:
    stored = await control_state(request).pool.fetchval("SELECT value FROM settings WHERE key = $1", row.key)
    return typed(row, stored)


async def write_row(
    request: Request[Any, Any, Any],
    row: SettingsRow,
    change: dict[str, Any],
    *,
    replace: bool = False,
    invalid_status: int | None = None,
) -> Any:
    """Apply `change` (merged into the row, or replacing it); `invalid_status` overrides the status of
    a value the setting does not take."""
    state = control_state(request)
    async with state.writer.transaction() as conn:
        stored = await conn.fetchval("SELECT value FROM settings WHERE key = $1 FOR UPDATE", row.key)
        try:
            overrides, value = merged(row, None if replace else stored, change)
        except InvalidField as exc:
            if invalid_status is not None:
                exc.status = invalid_status
            raise
        await conn.execute(
            """INSERT INTO settings (key, value) VALUES ($1, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""",
            row.key,
            overrides,
        )
        await audit.record(
            conn,
            actor_of(request),
            "settings.updated",
            "settings",
            row.key,
            msgspec.to_builtins(typed(row, stored)),
            msgspec.to_builtins(value),
        )
    return value
