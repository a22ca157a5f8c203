"""The one place JSON is encoded and decoded (orjson underneath)."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_str", "loads"]

JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON bytes."""
    return orjson.dumps(value)


def dumps_str(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises JSONDecodeError (a ValueError) on malformed input."""
    return orjson.loads(data)
