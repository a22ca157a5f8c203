"""Path and query parameter helpers shared by the management resources."""

from __future__ import annotations

import uuid

from services.control.errors import NotFoundError

__all__ = ["parse_uuid"]


def parse_uuid(value: str, what: str) -> str:
    """An id that is not a UUID cannot name anything: answer 404, like an unknown one."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFoundError(what) from None
