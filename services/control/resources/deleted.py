"""The answer to a DELETE."""

from __future__ import annotations

import msgspec

__all__ = ["Deleted"]


class Deleted(msgspec.Struct, kw_only=True):
    id: str
    deleted: bool
