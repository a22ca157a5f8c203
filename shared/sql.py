"""The few database calls shared code makes, as structural types.

shared/ imports no database driver (ARCHITECTURE decision 1); the services pass their own asyncpg
pools and connections, which fit these shapes. Rows are whatever the driver returns (asyncpg's
Record), read by column name.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

__all__ = ["Connection", "Database"]

T_co = TypeVar("T_co", covariant=True)


class _AsyncContext(Protocol[T_co]):
    async def __aenter__(self) -> T_co: ...

    async def __aexit__(self, *exc: Any) -> Any: ...


class _Queries(Protocol):
    async def execute(self, query: str, *args: Any) -> str: ...

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def fetchrow(self, query: str, *args: Any) -> Any: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...


class Connection(_Queries, Protocol):
    def transaction(self) -> _AsyncContext[Any]: ...


class Database(_Queries, Protocol):
    """A pool: queries on a borrowed connection, or `acquire()` one for a transaction."""

    def acquire(self) -> _AsyncContext[Connection]: ...
