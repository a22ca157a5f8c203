"""Reading the fleet's Redis state from a handler: an unreachable Redis is a 503, not a 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from services.control.errors import ApiError

__all__ = ["fleet_state"]


@contextmanager
def fleet_state() -> Iterator[None]:
    """Wrap Redis reads and writes: the state lives only there, so without it there is no answer."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise ApiError(503, "the shared state store (Redis) is unreachable", "state_unavailable") from exc
