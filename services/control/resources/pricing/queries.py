"""SQL for price overrides (parameterised; no SQL is built from strings)."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from services.control.db.types import Conn, Executor
from shared.config.catalog_overrides import PriceEntry

__all__ = ["all_overrides", "delete", "fetch", "upsert"]


def _entry(row: asyncpg.Record) -> PriceEntry:
    def usd(column: str) -> float | None:
        value = row[column]
        return None if value is None else float(value)

    return PriceEntry(
        provider=row["provider"],
        model=row["model"],
        input=float(row["input_per_million"]),
        output=float(row["output_per_million"]),
        cached=usd("cached_per_million"),
        reasoning=usd("reasoning_per_million"),
    )


async def all_overrides(pool: Executor, provider: str | None) -> list[PriceEntry]:
    rows = await pool.fetch(
        "SELECT * FROM pricing WHERE ($1::text IS NULL OR provider = $1) ORDER BY provider, model", provider
    )
    return [_entry(row) for row in rows]


async def fetch(conn: Conn, provider: str, model: str) -> PriceEntry | None:
    row = await conn.fetchrow("SELECT * FROM pricing WHERE provider = $1 AND model = $2 FOR UPDATE", provider, model)
    return _entry(row) if row is not None else None


def _numeric(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


async def upsert(conn: Conn, entry: PriceEntry) -> None:
    await conn.execute(
        """INSERT INTO pricing (provider, model, input_per_million, output_per_million, cached_per_million,
                                reasoning_per_million)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (provider, model) DO UPDATE SET
               input_per_million = EXCLUDED.input_per_million,
               output_per_million = EXCLUDED.output_per_million,
               cached_per_million = EXCLUDED.cached_per_million,
               reasoning_per_million = EXCLUDED.reasoning_per_million,
               updated_at = now()""",
        entry.provider,
        entry.model,
        _numeric(entry.input),
        _numeric(entry.output),
        _numeric(entry.cached),
        _numeric(entry.reasoning),
    )


async def delete(conn: Conn, provider: str, model: str) -> None:
    await conn.execute("DELETE FROM pricing WHERE provider = $1 AND model = $2", provider, model)
