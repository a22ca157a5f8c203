"""The edge: Litestar on Granian, serving client traffic (/v1) from an in-memory config snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope
from redis.asyncio import Redis

from services.edge.client_access import client_access_middleware
from services.edge.context import request_id_of
from services.edge.dispatch.fleet import Fleet
from services.edge.errors import EXCEPTION_HANDLERS
from services.edge.presence import PresenceAnnouncer
from services.edge.routes.chat import (
    anthropic_messages,
    chat_completions,
    ollama_chat,
    pinned_chat_completions,
    responses,
)
from services.edge.routes.count_tokens import count_tokens
from services.edge.routes.gemini import gemini_models_post
from services.edge.routes.models import gemini_models, list_models, ollama_tags
from services.edge.routes.ops import healthz, metrics_endpoint, readyz
from services.edge.snapshot_sync import ConfigHolder, SnapshotSync
from services.edge.state import EdgeState
from services.edge.upstream import UpstreamClients
from services.edge.usage_sink import UsageSink
from shared import metrics
from shared.background import cancel_and_wait
from shared.config.snapshot import SnapshotCodec
from shared.kv.usage_stream import UsageStream
from shared.logs import configure_logging
from shared.settings import Settings, load_settings

__all__ = ["create_app"]


def _lifespan(settings: Settings) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        settings.require("STORAGE_ENCRYPTION_KEY")
        assert settings.storage_encryption_key
        # Short socket timeouts: a slow Redis must degrade the hot path, not hang it.
        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=1)
        upstreams = UpstreamClients(
            allow_private=settings.allow_private_upstreams, retire_after=settings.timeouts.total
        )
        holder = ConfigHolder()
        sink = UsageSink(UsageStream(redis), settings.usage_flush_ms, settings.usage_batch_size)
        app.state.edge = EdgeState(
            settings=settings, redis=redis, holder=holder, upstreams=upstreams, usage=sink, fleet=Fleet(redis)
        )
        sync = SnapshotSync(
            redis,
            SnapshotCodec(settings.storage_encryption_key),
            holder,
            settings.snapshot_poll_seconds,
            on_swap=lambda config: upstreams.retain(config.proxies.distinct()),
        )
        tasks = [asyncio.create_task(sync.run()), asyncio.create_task(sink.run())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(holder.loaded.wait(), timeout=2.0)
        presence = PresenceAnnouncer(redis, holder, settings.edge_port)
        tasks.append(asyncio.create_task(presence.run()))
        gc.collect()
        gc.freeze()  # start-up objects are long-lived; keep them out of every later collection
        try:
            yield
        finally:
            await cancel_and_wait(*tasks)
            await presence.withdraw()
            await sink.close()
            await upstreams.close()
            await redis.aclose()
            metrics.mark_process_dead(os.getpid())

    return lifespan


async def _request_id_header(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        if "x-omniroute-request-id" not in headers:
            headers["X-OmniRoute-Request-Id"] = request_id_of(ASGIConnection(scope))


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging("edge", settings.log_level)
    return Litestar(
        route_handlers=[
            chat_completions,
            pinned_chat_completions,
            responses,
            anthropic_messages,
            count_tokens,
            gemini_models_post,
            gemini_models,
            ollama_chat,
            ollama_tags,
            list_models,
            healthz,
            readyz,
            metrics_endpoint,
        ],
        lifespan=[_lifespan(settings)],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[client_access_middleware],
        before_send=[_request_id_header],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=None,
        logging_config=None,  # our JSON logging, not Litestar's default handlers
        debug=False,
    )
