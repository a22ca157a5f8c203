"""The connection type the query modules accept: a plain connection or one borrowed from the pool."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = ["Conn", "Executor"]

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Executor: TypeAlias = "Conn | asyncpg.Pool[asyncpg.Record]"
