"""What the control plane's handlers share: settings, pools, the config writer."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

from services.control.changes import ConfigWriter
from services.control.publish import SnapshotPublisher
from shared.crypto import FieldCipher
from shared.settings import Settings

__all__ = ["ControlState"]


@dataclass(slots=True)
class ControlState:
    settings: Settings
    pool: asyncpg.Pool
    redis: Redis
    cipher: FieldCipher
    publisher: SnapshotPublisher
    writer: ConfigWriter
    session_secret: str
