"""One client request's record: what was asked, where it went, how long it took, what it cost.

`finish()` is called exactly once per request, on success, error or client disconnect, and turns
the record into one usage event (buffered off the request path) and the request metrics.
"""

from __future__ import annotations

import time

from services.edge.usage_sink import UsageSink
from shared import metrics
from shared.canonical.usage import Usage
from shared.config.snapshot import KeyConfig
from shared.kv.usage_stream import UsageEvent
from shared.pricing import cost_micros
from shared.routing.config import Target

__all__ = ["CLIENT_CLOSED", "Exchange"]

CLIENT_CLOSED = 499  # nginx's convention for "the client went away"


def _printable(text: str | None, limit: int = 256) -> str | None:
    """Client text headed for Postgres: no control characters (NUL breaks inserts), bounded length."""
    if text is None:
        return None
    if text.isprintable():
        return text[:limit]
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


class Exchange:
    __slots__ = (
        "_finished",
        "cost_micros",
        "dialect",
        "endpoint",
        "key",
        "request_id",
        "requested_model",
        "started",
        "stream",
        "target",
        "ts",
        "ttfb",
        "upstream_started",
        "usage",
    )

    def __init__(self, request_id: str, endpoint: str, dialect: str) -> None:
        self.request_id = request_id
        self.endpoint = endpoint
        self.dialect = dialect
        self.ts = time.time()
        self.started = time.perf_counter()
        self.key: KeyConfig | None = None
        self.requested_model: str | None = None
        self.target: Target | None = None
        self.stream = False
        self.ttfb: float | None = None
        self.upstream_started: float | None = None
        self.usage = Usage()
        self.cost_micros = 0
        self._finished = False

    def settle(self, usage: Usage) -> None:
        """Record what the upstream reported and what it costs at the target's price."""
        self.usage = usage
        if self.target is not None:
            self.cost_micros = cost_micros(usage, self.target.upstream.price(self.target.model))

    def upstream_sent(self) -> None:
        self.upstream_started = time.perf_counter()

    def first_byte(self) -> None:
        if self.ttfb is None:
            self.ttfb = time.perf_counter() - self.started

    def finish(self, sink: UsageSink, status: int, error_code: str | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        elapsed = time.perf_counter() - self.started
        target = self.target
        provider = target.upstream.spec.id if target else "none"
        model = target.model if target else None
        usage = self.usage
        if self.key is not None:
            sink.emit(
                UsageEvent(
                    request_id=self.request_id,
                    ts=self.ts,
                    endpoint=self.endpoint,
                    status=status,
                    api_key_id=self.key.id,
                    provider=target.upstream.spec.id if target else None,
                    connection_id=target.upstream.connection.id if target else None,
                    model=model,
                    requested_model=_printable(self.requested_model),
                    stream=self.stream,
                    tokens_in=usage.input_tokens,
                    tokens_out=usage.output_tokens,
                    tokens_cached=usage.cached_tokens,
                    tokens_reasoning=usage.reasoning_tokens,
                    cost_micros=self.cost_micros,
                    latency_ms=round(elapsed * 1000, 3),
                    ttfb_ms=round(self.ttfb * 1000, 3) if self.ttfb is not None else None,
                    error_code=error_code,
                )
            )
        # Metric labels stay bounded: a model the catalog does not list is counted as "other".
        label = "none" if target is None else model if model in target.upstream.models else "other"
        self._observe(provider, label, status, elapsed)

    def _observe(self, provider: str, model: str, status: int, elapsed: float) -> None:
        metrics.REQUESTS.labels(self.endpoint, self.dialect, provider, model, str(status)).inc()
        metrics.REQUEST_DURATION.labels(self.endpoint, provider).observe(elapsed)
        if self.upstream_started is not None:
            upstream = time.perf_counter() - self.upstream_started
            metrics.UPSTREAM_DURATION.labels(provider).observe(upstream)
            metrics.GATEWAY_OVERHEAD.labels(self.endpoint).observe(max(0.0, elapsed - upstream))
        if self.ttfb is not None:
            metrics.TTFB.labels(provider).observe(self.ttfb)
        if self.usage.reported:
            metrics.TOKENS.labels("in", provider, model).inc(self.usage.input_tokens)
            metrics.TOKENS.labels("out", provider, model).inc(self.usage.output_tokens)
