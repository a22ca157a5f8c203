"""The live provider endpoints: a test call, the upstream's model list, validation without saving.

A test sends the smallest chat request through the connection's dialect exactly as the edge
would (shared/providers/probe.py: the edge's `Upstream`, `build_request`, URL and auth headers)
and classifies a failure with the dialect's own `classify_error`, the way the edge does. Answers
never carry the credential; the URL is SSRF-guarded at check time and at connect time.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from redis.exceptions import RedisError

from services.control.context import control_state
from services.control.errors import ApiError, NotFoundError
from services.control.params import parse_uuid
from services.control.publish import connection_config
from services.control.resources.provider_models.controller import check_model_id
from services.control.resources.providers import queries
from services.control.resources.providers.live_schemas import (
    ListedModelView,
    ModelListing,
    ProviderTest,
    ProviderValidate,
    TestResult,
    UpstreamFailure,
    Validated,
)
from services.control.resources.providers.validation import ConnectionDraft, validate_draft
from services.control.resources.proxy.entries import stored_proxy
from services.control.state import ControlState
from services.outbound.fetch import fetch
from shared import jsonx
from shared.canonical.errors import GatewayError
from shared.config.snapshot import ConnectionConfig
from shared.crypto import DecryptionError
from shared.formats.registry import get_dialect
from shared.kv import keys
from shared.outbound_proxy import PROXY_SETTINGS_KEY, OutboundProxy
from shared.providers.model_lists import ListedModel, list_call, parse_model_list
from shared.providers.probe import default_model, probe_call, scrubbed
from shared.routing.config import Upstream, connection_upstream

__all__ = ["ProviderLiveController"]

log = logging.getLogger(__name__)

_TEST_TIMEOUT_CAP = 30.0  # seconds: a test should answer while someone waits for it


def _failure(error: GatewayError, secret: str | None) -> UpstreamFailure:
    retry = error.headers.get("Retry-After")
    return UpstreamFailure(
        code=error.code,
        message=scrubbed(error, secret),
        type=error.kind,
        retryable=error.retryable,
        retry_after_seconds=int(retry) if retry is not None and retry.isdigit() else None,
    )


async def _proxy(state: ControlState, provider: str) -> OutboundProxy | None:
    """The outbound proxy the edge would use for this provider (its own entry, else the global one)."""
    stored = await state.pool.fetchval("SELECT value FROM settings WHERE key = $1", PROXY_SETTINGS_KEY)
    return stored_proxy(stored, provider, state.cipher)


def _timeouts(state: ControlState) -> tuple[float, float]:
    timeouts = state.settings.timeouts
    return min(timeouts.connect, _TEST_TIMEOUT_CAP), min(timeouts.first_byte, timeouts.total, _TEST_TIMEOUT_CAP)


async def run_test(state: ControlState, connection: ConnectionConfig, model: str | None) -> TestResult:
    """One minimal chat request to the connection; the verdict, never an exception."""
    started = time.perf_counter()

    def result(status: int | None, error: GatewayError | None, chosen: str | None) -> TestResult:
        latency = round((time.perf_counter() - started) * 1000, 1)
        failure = _failure(error, connection.api_key) if error is not None else None
        return TestResult(ok=error is None, status=status, latency_ms=latency, model=chosen, error=failure)

    upstream = connection_upstream(connection)
    if upstream is None:
        error = GatewayError("The connection's provider is unknown or it has no base URL.", code="no_base_url")
        return result(None, error, model)
    chosen = model or default_model(upstream)
    if chosen is None:
        error = GatewayError("Give a model: the connection has no default model.", status=400, code="no_model")
        return result(None, error, None)
    dialect = get_dialect(upstream.dialect)
    connect, total = _timeouts(state)
    try:
        call = probe_call(upstream, chosen)
        answer = await fetch(
            "POST",
            call.url,
            call.headers,
            call.body,
            connect_timeout=connect,
            total_timeout=total,
            allow_private=state.settings.allow_private_upstreams,
            proxy=await _proxy(state, upstream.spec.id),
        )
    except GatewayError as exc:
        return result(None, exc, chosen)
    if answer.status >= 300:
        return result(answer.status, dialect.classify_error(answer.status, answer.headers, answer.body), chosen)
    try:
        dialect.parse_result(answer.body)
    except GatewayError as exc:
        return result(answer.status, exc, chosen)
    return result(answer.status, None, chosen)


async def _connection(state: ControlState, provider_id: str) -> tuple[asyncpg.Record, ConnectionConfig]:
    row = await queries.fetch(state.pool, parse_uuid(provider_id, "provider connection"))
    if row is None:
        raise NotFoundError("provider connection")
    try:
        return row, connection_config(row, state.cipher)
    except DecryptionError:
        raise ApiError(
            409, "the connection's credential cannot be decrypted; set apiKey again", "undecryptable"
        ) from None


async def _fallback_models(state: ControlState, upstream: Upstream | None, connection: ConnectionConfig) -> list[str]:
    """What the gateway knows without asking: catalog, the connection's own and custom models (not hidden)."""
    found: dict[str, None] = {}
    if upstream is not None:
        found.update(dict.fromkeys(upstream.spec.models))
    found.update(dict.fromkeys(connection.models))
    if connection.default_model:
        found[connection.default_model] = None
    rows = await state.pool.fetch(
        "SELECT model, hidden FROM provider_models WHERE provider = $1 ORDER BY model", connection.provider
    )
    found.update(dict.fromkeys(row["model"] for row in rows if not row["hidden"]))
    for row in rows:
        if row["hidden"]:
            found.pop(row["model"], None)
    return list(found)


async def _cached(state: ControlState, key: str, fingerprint: str) -> dict[str, Any] | None:
    try:
        raw = await state.redis.get(key)
    except (RedisError, OSError):
        log.warning("model list cache unreadable; asking the upstream")
        return None
    if raw is None:
        return None
    try:
        entry = jsonx.loads(raw)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and entry.get("fingerprint") == fingerprint else None


async def _store(state: ControlState, key: str, entry: dict[str, Any]) -> None:
    try:
        await state.redis.set(key, jsonx.dumps(entry), ex=keys.PROVIDER_MODELS_TTL_SECONDS)
    except (RedisError, OSError):
        log.warning("model list cache unwritable")


async def _upstream_models(state: ControlState, upstream: Upstream) -> list[ListedModel] | GatewayError | None:
    """The upstream's list (None: it has no list endpoint), or why it could not be had."""
    call = list_call(upstream)
    if call is None:
        return None
    connect, total = _timeouts(state)
    try:
        answer = await fetch(
            "GET",
            call.url,
            call.headers,
            None,
            connect_timeout=connect,
            total_timeout=total,
            allow_private=state.settings.allow_private_upstreams,
            proxy=await _proxy(state, upstream.spec.id),
        )
    except GatewayError as exc:
        return exc
    if answer.status >= 300:
        return get_dialect(upstream.dialect).classify_error(answer.status, answer.headers, answer.body)
    try:
        return parse_model_list(upstream.dialect, answer.body)
    except ValueError as exc:
        return GatewayError(f"The upstream's model list is unreadable: {exc}.", status=502, code="invalid_model_list")


class ProviderLiveController(Controller):
    path = "/api/providers"
    tags = ["providers"]

    @post("/{provider_id:str}/test", status_code=200)
    async def test_provider(
        self,
        request: Request[Any, Any, Any],
        provider_id: FromPath[str],
        data: JSONBody[ProviderTest | None] = None,
    ) -> TestResult:
        """Send a minimal chat request to the connection's default model (or `model`): `{ok, status, latencyMs,
        model, error?}`. An upstream refusal is a result (200, `ok: false`), not an error of this endpoint."""
        state = control_state(request)
        _, connection = await _connection(state, provider_id)
        model = data.model if data is not None else None
        if model is not None:
            check_model_id("model", model)
        return await run_test(state, connection, model)

    @get("/{provider_id:str}/models")
    async def provider_models(
        self, request: Request[Any, Any, Any], provider_id: FromPath[str], refresh: FromQuery[bool] = False
    ) -> ModelListing:
        """The upstream's own model list (cached in Redis; `?refresh=true` asks again), else the known models."""
        state = control_state(request)
        row, connection = await _connection(state, provider_id)
        upstream = connection_upstream(connection)
        prefix = upstream.spec.id if upstream is not None else connection.provider
        key = keys.provider_models(connection.id)
        fingerprint = f"{row['updated_at'].timestamp()}"
        entry = None if refresh else await _cached(state, key, fingerprint)
        cached = entry is not None
        error: UpstreamFailure | None = None
        if entry is None and upstream is not None:
            listed = await _upstream_models(state, upstream)
            if isinstance(listed, GatewayError):
                error = _failure(listed, connection.api_key)
            elif listed is not None:
                entry = {
                    "fingerprint": fingerprint,
                    "fetchedAt": round(time.time(), 3),
                    "models": [[m.model, m.name] for m in listed],
                }
                await _store(state, key, entry)
        if entry is not None:
            models = [ListedModelView(id=f"{prefix}/{m}", model=m, name=n) for m, n in entry["models"]]
            return ModelListing(
                connection_id=connection.id,
                provider=prefix,
                source="upstream",
                cached=cached,
                fetched_at=entry["fetchedAt"],
                models=models,
            )
        known = await _fallback_models(state, upstream, connection)
        return ModelListing(
            connection_id=connection.id,
            provider=prefix,
            source="catalog",
            cached=False,
            fetched_at=None,
            models=[ListedModelView(id=f"{prefix}/{m}", model=m) for m in known],
            error=error,
        )

    @post("/validate", status_code=200)
    async def validate_provider(self, request: Request[Any, Any, Any], data: JSONBody[ProviderValidate]) -> Validated:
        """Check a connection config as a create would (SSRF guard included) without storing anything;
        `live: true` also sends a test request with the given credential."""
        state = control_state(request)
        fields = {name: getattr(data, name) for name in ConnectionDraft.__dataclass_fields__ if hasattr(data, name)}
        draft = validate_draft(ConnectionDraft(**fields), state.settings.allow_private_upstreams)
        taken = await state.pool.fetchval(
            "SELECT 1 FROM provider_connections WHERE provider = $1 AND name = $2", draft.provider, draft.name
        )
        if taken:
            raise ApiError(
                409,
                f"a connection named {draft.name!r} already exists for provider {draft.provider!r}",
                "conflict",
                [{"field": "name", "message": "already exists for this provider"}],
            )
        test = None
        if data.live:
            candidate = ConnectionConfig(
                id="validate",
                provider=draft.provider,
                name=draft.name,
                api_key=draft.api_key,
                base_url=draft.base_url,
                default_model=draft.default_model,
                models=tuple(draft.models),
                extra=draft.provider_specific_data,
            )
            test = await run_test(state, candidate, None)
        return Validated(
            valid=True,
            provider=draft.provider,
            name=draft.name,
            base_url=draft.base_url,
            default_model=draft.default_model,
            has_api_key=bool(draft.api_key),
            test=test,
        )
