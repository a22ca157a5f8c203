"""Every Redis key, channel, stream and TTL the product uses, in one place."""

from __future__ import annotations

__all__ = [
    "CONFIG_ANNOUNCE_CHANNEL",
    "CONFIG_CURRENT",
    "REPLAY_PREFIX",
    "REPLAY_TTL_SECONDS",
    "USAGE_DEAD_LETTERS",
    "USAGE_GROUP",
    "USAGE_STREAM",
    "replay",
    "replay_by_content",
]

PREFIX = "omni:"

# Hash {version, blob}: the current encrypted config snapshot; replaced only by a newer version.
CONFIG_CURRENT = PREFIX + "config:current"
# Pub/sub channel carrying the version number of each newly published snapshot.
CONFIG_ANNOUNCE_CHANNEL = PREFIX + "config:announce"

# Stream of usage events (one per request) and the worker consumer group reading it.
USAGE_STREAM = PREFIX + "usage:events"
USAGE_GROUP = "usage-ingest"
# Thinking blocks and signatures of a tool-calling turn, for clients whose API cannot carry them.
REPLAY_PREFIX = PREFIX + "replay:"
REPLAY_TTL_SECONDS = 24 * 3600

# Entries that could not be decoded or stored, kept (capped) for inspection instead of blocking the group.
USAGE_DEAD_LETTERS = PREFIX + "usage:dead"


def replay(tool_call_id: str) -> str:
    return REPLAY_PREFIX + tool_call_id[:256]


def replay_by_content(digest: str) -> str:
    """For clients that drop tool call ids (the ollama SDK): the call's content, scoped to one API key."""
    return REPLAY_PREFIX + "c:" + digest
