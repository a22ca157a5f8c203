"""/api/settings/proxy (GET, PUT) and /api/settings/proxy/test (POST): outbound proxies for the edges.

The configuration is the `proxy` settings row (shared/outbound_proxy.py): a global proxy and
per-provider overrides. Passwords are encrypted at rest, never answered (masked), never audited,
and reach edges only inside the encrypted snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.db.types import Conn
from services.control.errors import InvalidField
from services.control.resources.names import provider_id
from services.control.resources.proxy.entries import (
    masked_settings,
    stored_proxy,
    stored_settings,
    validate_entry,
)
from services.control.resources.proxy.probe import ProbeResult, probe
from shared.netguard import UnsafeURL, check_url
from shared.outbound_proxy import PROXY_SETTINGS_KEY, OutboundProxy
from shared.providers.catalog import PROVIDERS

__all__ = ["ProxySettingsController"]

log = logging.getLogger(__name__)

_MAX_URL = 2048


class ProxyEntryView(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """One proxy as answered: `type` is http, https, socks5, socks5h or none; the password is masked."""

    type: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    has_password: bool | None = None


class ProxySettingsView(msgspec.Struct, kw_only=True):
    """The global proxy (null: direct) and per-provider overrides keyed by provider id."""

    global_: ProxyEntryView | None = msgspec.field(name="global")
    providers: dict[str, ProxyEntryView]


class ProxyTestRequest(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """What to test: `proxy` (an entry; default: the stored one for `provider`, else the global one),
    against `url` (default: `provider`'s base URL, else the first configured provider's)."""

    proxy: dict[str, Any] | None = None
    provider: str | None = None
    url: str | None = None
    timeout_ms: int = 10_000


def _view(stored: Any) -> ProxySettingsView:
    return msgspec.convert(masked_settings(stored), ProxySettingsView)


def _invalid(field: str, message: str) -> InvalidField:
    return InvalidField(field, message, status=422)


async def _stored(conn: Conn, *, lock: bool = False) -> Any:
    if lock:
        return await conn.fetchval("SELECT value FROM settings WHERE key = $1 FOR UPDATE", PROXY_SETTINGS_KEY)
    return await conn.fetchval("SELECT value FROM settings WHERE key = $1", PROXY_SETTINGS_KEY)


async def _node_prefixes(conn: Conn) -> set[str]:
    return {row["prefix"] for row in await conn.fetch("SELECT prefix FROM provider_nodes")}


async def _default_url(conn: Conn, provider: str | None) -> str | None:
    """A configured provider's base URL: its own connection's, else its catalog URL, else a node's."""
    row = await conn.fetchrow(
        """SELECT provider, base_url FROM provider_connections
           WHERE is_active AND ($1::text IS NULL OR provider = $1)
           ORDER BY priority, name, id LIMIT 1""",
        provider,
    )
    if row is not None:
        spec = PROVIDERS.get(row["provider"])
        return row["base_url"] or (spec.base_url if spec else None)
    if provider is None:
        return None
    url = await conn.fetchval("SELECT base_url FROM provider_nodes WHERE prefix = $1", provider)
    if url is None and provider in PROVIDERS:
        url = PROVIDERS[provider].base_url
    return str(url) if url else None


def _safe_url(url: str, allow_private: bool) -> str:
    if len(url) > _MAX_URL:
        raise _invalid("url", f"must be at most {_MAX_URL} characters")
    try:
        return check_url(url, allow_private=allow_private)
    except UnsafeURL as exc:
        raise _invalid("url", str(exc)) from None


def _safe_proxy_host(proxy: OutboundProxy, allow_private: bool) -> None:
    host = f"[{proxy.host}]" if ":" in proxy.host else proxy.host
    try:
        check_url(f"http://{host}:{proxy.port}", allow_private=allow_private)
    except UnsafeURL as exc:
        raise _invalid("proxy.host", str(exc)) from None


class ProxySettingsController(Controller):
    path = "/api/settings/proxy"
    tags = ["settings"]

    @get("/")
    async def get_proxy_settings(self, request: Request[Any, Any, Any]) -> ProxySettingsView:
        """The outbound proxies edges use; passwords are masked."""
        async with control_state(request).pool.acquire() as conn:
            return _view(await _stored(conn))

    @put("/")
    async def put_proxy_settings(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> ProxySettingsView:
        """Replace the configuration: `{"global": entry|null, "providers": {"<provider id>": entry}}`.

        An entry is `{"type": "http"|"https"|"socks5"|"socks5h", "host", "port", "username"?,
        "password"?}` or `{"type": "none"}` (direct). A password left out, or sent back masked,
        is kept while type, host, port and username stay the same. Invalid values are 422
        naming the field.
        """
        state = control_state(request)
        allow_private = state.settings.allow_private_upstreams
        async with state.pool.acquire() as conn:
            seen, nodes = await _stored(conn), await _node_prefixes(conn)
        # Validation resolves host names (the SSRF guard): off the event loop, outside the transaction.
        row = await asyncio.to_thread(
            stored_settings, data, seen, state.cipher, allow_private=allow_private, nodes=nodes
        )
        async with state.writer.transaction() as conn:
            stored = await _stored(conn, lock=True)
            if stored != seen or await _node_prefixes(conn) != nodes:  # a concurrent write: validate again
                row = stored_settings(
                    data, stored, state.cipher, allow_private=allow_private, nodes=await _node_prefixes(conn)
                )
            await conn.execute(
                """INSERT INTO settings (key, value) VALUES ($1, $2)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""",
                PROXY_SETTINGS_KEY,
                row,
            )
            await audit.record(
                conn,
                actor_of(request),
                "settings.updated",
                "settings",
                PROXY_SETTINGS_KEY,
                masked_settings(stored) if stored is not None else None,
                masked_settings(row),
            )
        return _view(row)

    @post("/test", status_code=200)
    async def test_proxy(self, request: Request[Any, Any, Any], data: JSONBody[ProxyTestRequest]) -> ProbeResult:
        """Send one GET through a proxy to a target URL and report ok, latency and a fixed error code.

        The proxy host and the target URL both go through the SSRF guard (refused with 422 unless
        OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS=true); no response body is ever echoed.
        """
        state = control_state(request)
        allow_private = state.settings.allow_private_upstreams
        if not 100 <= data.timeout_ms <= 30_000:
            raise _invalid("timeoutMs", "must be an integer from 100 to 30000")
        async with state.pool.acquire() as conn:
            provider: str | None = None
            if data.provider is not None:
                provider = provider_id(data.provider, await _node_prefixes(conn))
                if provider is None:
                    raise _invalid("provider", "unknown provider (not a catalog id or a provider-node prefix)")
            stored = await _stored(conn)
            url = data.url if data.url is not None else await _default_url(conn, provider)
        kept = stored_proxy(stored, provider, state.cipher)
        if data.proxy is not None:
            proxy = await asyncio.to_thread(
                validate_entry, "proxy", data.proxy, allow_private=allow_private, previous=kept
            )
            if proxy is None:
                raise _invalid("proxy.type", "a proxy to test is needed, not none")
        elif kept is None:
            raise _invalid("proxy", "no proxy is configured here; give one to test")
        else:
            proxy = kept
            await asyncio.to_thread(_safe_proxy_host, proxy, allow_private)
        if url is None:
            raise _invalid("url", "is required when no provider is configured")
        url = await asyncio.to_thread(_safe_url, url, allow_private)
        result = await probe(proxy, url, allow_private=allow_private, within=data.timeout_ms / 1000)
        log.info(
            "proxy test",
            extra={"proxy": result.proxy, "ok": result.ok, "code": result.code, "latency_ms": result.latency_ms},
        )
        return result
