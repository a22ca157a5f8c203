"""Every Prometheus metric the product exports, named in one place (prefix `omniroute_`).

Services that run several worker processes (edge and control under Granian) set
PROMETHEUS_MULTIPROC_DIR before start; `render()` then merges all processes' files so every
scrape shows fleet-wide counts for that service, whichever worker answers it.
Labels are bounded: no API key ids, no raw client model strings.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

__all__ = ["CONTENT_TYPE", "mark_process_dead", "render"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)

# --- edge ---------------------------------------------------------------------------------
REQUESTS = Counter(
    "omniroute_requests_total",
    "Client requests answered by the edge.",
    ["route", "dialect", "provider", "model", "status"],
)
REQUEST_DURATION = Histogram(
    "omniroute_request_duration_seconds",
    "Time from request arrival to the last byte sent.",
    ["route", "provider"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_DURATION = Histogram(
    "omniroute_upstream_duration_seconds",
    "Time spent waiting on the upstream provider.",
    ["provider"],
    buckets=_LATENCY_BUCKETS,
)
TTFB = Histogram(
    "omniroute_ttfb_seconds",
    "Time from request arrival to the first upstream byte.",
    ["provider"],
    buckets=_LATENCY_BUCKETS,
)
GATEWAY_OVERHEAD = Histogram(
    "omniroute_gateway_overhead_seconds",
    "Time spent inside the gateway, excluding the upstream wait.",
    ["route"],
    buckets=_OVERHEAD_BUCKETS,
)
TOKENS = Counter("omniroute_tokens_total", "Tokens reported by upstreams.", ["direction", "provider", "model"])
ACTIVE_STREAMS = Gauge("omniroute_active_streams", "Streams being relayed right now.", multiprocess_mode="livesum")
REDIS_ERRORS = Counter("omniroute_redis_errors_total", "Redis operations that failed.", ["operation"])
REDIS_ROUND_TRIPS = Histogram(
    "omniroute_redis_round_trips_per_request",
    "Redis round trips one client request made on its own behalf (usage appends are batched apart).",
    ["route"],
    buckets=(0, 1, 2, 3, 4, 6, 8),
)
REDIS_FALLBACKS = Counter(
    "omniroute_redis_fallback_total",
    "Shared-state operations served by the process-local fallback because Redis was unreachable.",
    ["operation"],
)
FALLBACKS = Counter(
    "omniroute_fallbacks_total", "Attempts that failed and moved the request on to another target.", ["reason"]
)
ATTEMPT_FAILURES = Counter(
    "omniroute_upstream_attempt_failures_total",
    "Upstream attempts that failed, by provider and reason.",
    ["provider", "reason"],
)
RATE_LIMITED = Counter("omniroute_rate_limited_total", "Requests refused by a gateway rate limit.", ["scope"])
IDEMPOTENCY = Counter(
    "omniroute_idempotency_total", "Requests carrying an idempotency key, by what happened.", ["outcome"]
)
BREAKER_TRANSITIONS = Counter(
    "omniroute_breaker_events_total", "Circuit breaker events seen by this edge.", ["provider", "event"]
)
USAGE_DROPPED = Counter(
    "omniroute_usage_events_dropped_total", "Usage events dropped because the edge buffer overflowed."
)
USAGE_BUFFERED = Gauge(
    "omniroute_usage_events_buffered",
    "Usage events waiting in edge memory for Redis.",
    multiprocess_mode="livesum",
)
USAGE_REPLAYED = Counter(
    "omniroute_usage_events_replayed_total", "Usage events appended again after Redis lost the stream."
)
CONFIG_VERSION = Gauge("omniroute_config_version", "Config snapshot version in force.", multiprocess_mode="livemin")
CONFIG_RELOADS = Counter("omniroute_config_reloads_total", "Config snapshots loaded.", ["trigger"])

# --- control plane --------------------------------------------------------------------------
CONFIG_PUBLISHES = Counter("omniroute_config_publishes_total", "Config snapshots published.", ["result"])
ADMIN_REQUESTS = Counter("omniroute_admin_requests_total", "Management API requests.", ["method", "status"])

# --- workers ----------------------------------------------------------------------------------
USAGE_INGESTED = Counter("omniroute_usage_events_ingested_total", "Usage events stored in Postgres.")
USAGE_DUPLICATES = Counter("omniroute_usage_events_duplicate_total", "Usage events already stored (redelivered).")
USAGE_POISON = Counter("omniroute_usage_events_poison_total", "Usage entries that could not be decoded.")
USAGE_LAG = Gauge("omniroute_usage_stream_lag", "Usage events in the stream not yet stored.")
USAGE_PENDING = Gauge("omniroute_usage_stream_pending", "Usage events read by a worker but not yet acknowledged.")
USAGE_OLDEST_AGE = Gauge(
    "omniroute_usage_stream_oldest_age_seconds", "Age of the oldest usage event not yet stored (0 when none)."
)
JOB_RUNS = Counter("omniroute_job_runs_total", "Worker job runs.", ["job", "result"])
JOB_DURATION = Histogram("omniroute_job_duration_seconds", "Worker job durations.", ["job"], buckets=_LATENCY_BUCKETS)
RETENTION_DELETED = Counter("omniroute_retention_deleted_rows_total", "Rows deleted by the retention jobs.", ["table"])
HEALTH_PROBES = Counter("omniroute_health_probes_total", "Provider health probes.", ["result"])


def render() -> bytes:
    """Exposition text; merges every process of this service in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
