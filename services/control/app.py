"""The control plane: Litestar on asyncpg, serving /api (management) on port 20129."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import Message, Scope
from redis.asyncio import Redis

from services.control.auth.first_run import init_state
from services.control.auth.guard import admin_guard
from services.control.auth.password import ensure_admin_password
from services.control.auth.routes import login, logout
from services.control.changes import ConfigWriter
from services.control.context import request_id_of
from services.control.db.pool import create_pool
from services.control.errors import EXCEPTION_HANDLERS
from services.control.oauth.controller import OAuthController
from services.control.ops import healthz, metrics_endpoint, openapi_json, readyz
from services.control.publish import SnapshotPublisher
from services.control.resources.audit.controller import audit_log
from services.control.resources.backups.controller import BackupsController
from services.control.resources.budgets.controller import BudgetController
from services.control.resources.cli_tools.controller import (
    claude_settings,
    cli_tool_runtime,
    codex_settings,
    droid_settings,
    openclaw_settings,
)
from services.control.resources.combos.controller import CombosController
from services.control.resources.evals.controller import EvalsController
from services.control.resources.keys.controller import KeysController
from services.control.resources.live.availability_api import model_availability, models_availability
from services.control.resources.live.rate_limits import rate_limits
from services.control.resources.live.reset import reset_resilience
from services.control.resources.live.sessions import active_sessions
from services.control.resources.models.aliases import AliasesController
from services.control.resources.models.catalog import models_catalog
from services.control.resources.monitoring.health import monitoring_health
from services.control.resources.monitoring.telemetry import telemetry_summary
from services.control.resources.nodes.controller import ProviderNodesController
from services.control.resources.policies.controller import PoliciesController
from services.control.resources.pricing.controller import PricingController
from services.control.resources.process.controller import restart_control, shutdown_control
from services.control.resources.process.server import ServerProcess
from services.control.resources.provider_models.controller import ProviderModelsController
from services.control.resources.providers.controller import ProvidersController
from services.control.resources.providers.live import ProviderLiveController
from services.control.resources.proxy.controller import ProxySettingsController
from services.control.resources.settings.controller import (
    IdempotencySettingsController,
    RateLimitController,
    ResilienceController,
)
from services.control.resources.settings.gateway import (
    GeneralSettingsController,
    IpFilterController,
    RequireLoginController,
    SystemPromptController,
    ThinkingBudgetController,
)
from services.control.resources.usage.controller import UsageController
from services.control.state import ControlState
from services.control.sync.cloud import CloudController
from services.control.sync.routes import SyncController
from services.control.sync.schedule import run_sync_schedule
from shared import metrics
from shared.background import cancel_and_wait
from shared.config.snapshot import SnapshotCodec
from shared.crypto import FieldCipher
from shared.logs import configure_logging
from shared.settings import Settings, load_settings

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _lifespan(settings: Settings) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        settings.require("STORAGE_ENCRYPTION_KEY", "JWT_SECRET")
        assert settings.storage_encryption_key
        assert settings.jwt_secret
        pool = await create_pool(settings.database_url)
        redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=3)
        try:
            await ensure_admin_password(pool, settings)
            cipher = FieldCipher(settings.storage_encryption_key, "provider-credentials")
            publisher = SnapshotPublisher(
                pool, redis, SnapshotCodec(settings.storage_encryption_key), cipher, settings.snapshot_republish_seconds
            )
            app.state.control = ControlState(
                settings=settings,
                pool=pool,
                redis=redis,
                cipher=cipher,
                publisher=publisher,
                writer=ConfigWriter(pool, publisher),
                session_secret=settings.jwt_secret,
            )
            app.state.process = ServerProcess.from_environment(os.environ)
            await publisher.publish_latest()
            backstop = asyncio.create_task(publisher.run_backstop())
            cloud_sync = asyncio.create_task(run_sync_schedule(app.state.control))
            # OAuth refresh ahead of expiry is a worker cron job (services/workers/jobs/oauth_refresh.py).
            try:
                yield
            finally:
                await cancel_and_wait(backstop, cloud_sync)
        finally:
            await redis.aclose()
            await pool.close()
            metrics.mark_process_dead(os.getpid())

    return lifespan


async def _on_response_start(message: Message, scope: Scope) -> None:
    """Every answer carries X-OmniRoute-Request-Id (the one the audit log records) and is counted."""
    if message["type"] == "http.response.start":
        request_id = request_id_of(ASGIConnection(scope))
        MutableScopeHeaders.from_message(message)["X-OmniRoute-Request-Id"] = request_id
        metrics.ADMIN_REQUESTS.labels(scope.get("method", "GET"), str(message["status"])).inc()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging("control", settings.log_level)
    protected = Router(
        path="/",
        guards=[admin_guard],
        route_handlers=[
            ProvidersController,
            ProviderNodesController,
            KeysController,
            UsageController,
            BudgetController,
            audit_log,
            AliasesController,
            models_catalog,
            CombosController,
            PoliciesController,
            ResilienceController,
            RateLimitController,
            IdempotencySettingsController,
            GeneralSettingsController,
            IpFilterController,
            ThinkingBudgetController,
            SystemPromptController,
            RequireLoginController,
            ProxySettingsController,
            reset_resilience,
            rate_limits,
            active_sessions,
            models_availability,
            model_availability,
            ProviderLiveController,
            ProviderModelsController,
            PricingController,
            monitoring_health,
            telemetry_summary,
            restart_control,
            shutdown_control,
            claude_settings,
            codex_settings,
            droid_settings,
            openclaw_settings,
            cli_tool_runtime,
            OAuthController,
            SyncController,
            EvalsController,
            BackupsController,
        ],
    )
    return Litestar(
        route_handlers=[
            login,
            logout,
            init_state,
            healthz,
            readyz,
            metrics_endpoint,
            openapi_json,
            protected,
            CloudController,
        ],
        lifespan=[_lifespan(settings)],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="OmniRoute management API",
            version="0.1.0",
            path="/openapi",  # Litestar's own router; the contract path /api/openapi.json is ours
            render_plugins=[JsonRenderPlugin()],
        ),
        before_send=[_on_response_start],
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,  # our JSON logging, not Litestar's default handlers
        debug=False,
    )
