"""What the edge's handlers share within one process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from redis.asyncio import Redis

from services.edge.dispatch.fleet import Fleet
from services.edge.snapshot_sync import ConfigHolder
from services.edge.upstream import UpstreamClients
from services.edge.usage_sink import UsageSink
from shared.settings import Settings

__all__ = ["EdgeState", "edge_state"]


@dataclass(slots=True)
class EdgeState:
    settings: Settings
    redis: Redis
    holder: ConfigHolder
    upstreams: UpstreamClients
    usage: UsageSink
    fleet: Fleet


def edge_state(connection: ASGIConnection[Any, Any, Any, Any]) -> EdgeState:
    state: EdgeState = connection.app.state.edge
    return state
