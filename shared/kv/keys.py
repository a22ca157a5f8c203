"""Every Redis key, channel, stream and TTL the product uses, in one place."""

from __future__ import annotations

__all__ = [
    "CONFIG_ANNOUNCE_CHANNEL",
    "CONFIG_CURRENT",
    "USAGE_DEAD_LETTERS",
    "USAGE_GROUP",
    "USAGE_STREAM",
]

PREFIX = "omni:"

# Hash {version, blob}: the current encrypted config snapshot; replaced only by a newer version.
CONFIG_CURRENT = PREFIX + "config:current"
# Pub/sub channel carrying the version number of each newly published snapshot.
CONFIG_ANNOUNCE_CHANNEL = PREFIX + "config:announce"

# Stream of usage events (one per request) and the worker consumer group reading it.
USAGE_STREAM = PREFIX + "usage:events"
USAGE_GROUP = "usage-ingest"
# Entries that could not be decoded or stored, kept (capped) for inspection instead of blocking the group.
USAGE_DEAD_LETTERS = PREFIX + "usage:dead"
