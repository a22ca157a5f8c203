"""One provider connection's health probe: the cheapest call that proves the upstream and credential work.

The model list (shared/providers/model_lists.py) where the dialect has one: no tokens spent.
Otherwise the same minimal chat the connection test sends (shared/providers/probe.py, at most
PROBE_MAX_TOKENS output tokens). The caller sends it (`Fetch`: the workers' guarded client, with
the connect-time SSRF guard unless OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS) through the connection's
outbound proxy, as the edge would. The verdict never carries an upstream's own words or a credential:
only the HTTP status and the gateway's error code from the dialect's classifier.

A 429 counts as `up`: the upstream answered and accepted the credential; it is only busy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from shared.canonical.errors import GatewayError
from shared.config.snapshot import ConnectionConfig
from shared.formats.registry import get_dialect
from shared.kv.health_probes import ProbeMethod, ProbeRecord
from shared.outbound_proxy import OutboundProxy, ProxyTable
from shared.providers.model_lists import list_call
from shared.providers.probe import default_model, probe_call
from shared.routing.config import connection_upstream

__all__ = ["Fetch", "FetchAnswer", "probe_connection"]


class FetchAnswer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes: ...


class Fetch(Protocol):
    """One guarded request answered whole; failures raise GatewayError with the edge's codes."""

    async def __call__(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        connect_timeout: float,
        total_timeout: float,
        allow_private: bool,
        proxy: OutboundProxy | None = None,
    ) -> FetchAnswer: ...


async def probe_connection(
    connection: ConnectionConfig,
    fetch: Fetch,
    *,
    allow_private: bool,
    proxies: ProxyTable,
    connect_timeout: float,
    total_timeout: float,
) -> ProbeRecord:
    started = time.perf_counter()
    method: ProbeMethod = "none"

    def record(http_status: int | None, error_code: str | None, *, up: bool) -> ProbeRecord:
        return ProbeRecord(
            connection_id=connection.id,
            provider=connection.provider,
            name=connection.name,
            status="up" if up else "down",
            method=method,
            latency_ms=None if method == "none" else round((time.perf_counter() - started) * 1000, 1),
            checked_at_ms=int(time.time() * 1000),
            http_status=http_status,
            error_code=error_code,
        )

    upstream = connection_upstream(connection)
    if upstream is None:
        return record(None, "no_base_url", up=False)
    dialect = get_dialect(upstream.dialect)
    proxy = proxies.for_provider(upstream.spec.id)  # as the edge picks it
    listing = list_call(upstream)
    try:
        if listing is not None:
            method = "models"
            answer = await fetch(
                "GET",
                listing.url,
                listing.headers,
                None,
                connect_timeout=connect_timeout,
                total_timeout=total_timeout,
                allow_private=allow_private,
                proxy=proxy,
            )
        else:
            model = default_model(upstream)
            if model is None:
                return record(None, "no_model", up=False)
            method = "chat"
            call = probe_call(upstream, model)
            answer = await fetch(
                "POST",
                call.url,
                call.headers,
                call.body,
                connect_timeout=connect_timeout,
                total_timeout=total_timeout,
                allow_private=allow_private,
                proxy=proxy,
            )
    except GatewayError as exc:
        return record(None, exc.code, up=False)
    if answer.status < 300:
        return record(answer.status, None, up=True)
    error = dialect.classify_error(answer.status, answer.headers, answer.body)
    return record(answer.status, error.code, up=answer.status == 429)
