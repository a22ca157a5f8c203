"""Identifiers: time-ordered request ids and opaque object ids."""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["new_id", "new_request_id"]


def new_request_id() -> str:
    """32 hex chars: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    return f"{millis:012x}{os.urandom(10).hex()}"


def new_id() -> str:
    """A random UUID as text, for rows created through the control plane."""
    return str(uuid.uuid4())
