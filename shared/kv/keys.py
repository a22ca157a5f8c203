"""Every Redis key, channel, stream and TTL the product uses, in one place."""

from __future__ import annotations

__all__ = [
    "BREAKER_PREFIX",
    "BREAKER_TTL_MS",
    "BUDGET_PREFIX",
    "CONFIG_ANNOUNCE_CHANNEL",
    "CONFIG_CURRENT",
    "COOLDOWN_PREFIX",
    "EDGE_HEARTBEAT_MS",
    "EDGE_RECENT_MS",
    "EDGE_REPLICAS",
    "EDGE_REPLICA_TTL_MS",
    "HEALTH_PROBE_PREFIX",
    "HEALTH_PROBE_TTL_MS",
    "IDEMPOTENCY_PREFIX",
    "LOGIN_ATTEMPTS_PREFIX",
    "MAX_RETRY_AFTER_MS",
    "PROVIDER_MODELS_PREFIX",
    "PROVIDER_MODELS_TTL_SECONDS",
    "RATELIMIT_PREFIX",
    "REPLAY_PREFIX",
    "REPLAY_TTL_SECONDS",
    "SEMAPHORE_PREFIX",
    "SESSION_PREFIX",
    "USAGE_DEAD_LETTERS",
    "USAGE_GROUP",
    "USAGE_SINK_MARKER_TTL_SECONDS",
    "USAGE_STREAM",
    "breaker",
    "breaker_probe",
    "budget",
    "budget_leases",
    "cooldown",
    "cooldown_level",
    "edge_replica",
    "health_probe",
    "idempotency",
    "login_attempts",
    "oauth_device_flow",
    "oauth_flow",
    "oauth_refresh_lock",
    "provider_models",
    "ratelimit",
    "replay",
    "replay_by_content",
    "semaphore",
    "session",
    "usage_sink_marker",
]

PREFIX = "omni:"

# Hash {version, blob}: the current encrypted config snapshot; replaced only by a newer version.
CONFIG_CURRENT = PREFIX + "config:current"
# Pub/sub channel carrying the version number of each newly published snapshot.
CONFIG_ANNOUNCE_CHANNEL = PREFIX + "config:announce"

# Stream of usage events (one per request) and the worker consumer group reading it.
USAGE_STREAM = PREFIX + "usage:events"
USAGE_GROUP = "usage-ingest"
# One key per edge process, refreshed with every append: finding it gone means Redis lost its data
# (a restart without persistence), so the edge appends its recent events again (the insert dedups).
USAGE_SINK_MARKER_PREFIX = PREFIX + "usage:sink:"
USAGE_SINK_MARKER_TTL_SECONDS = 3600
# Thinking blocks and signatures of a tool-calling turn, for clients whose API cannot carry them.
REPLAY_PREFIX = PREFIX + "replay:"
REPLAY_TTL_SECONDS = 24 * 3600

# Entries that could not be decoded or stored, kept (capped) for inspection instead of blocking the group.
USAGE_DEAD_LETTERS = PREFIX + "usage:dead"


def usage_sink_marker(sink_id: str) -> str:
    return USAGE_SINK_MARKER_PREFIX + sink_id


def replay(tool_call_id: str) -> str:
    return REPLAY_PREFIX + tool_call_id[:256]


def replay_by_content(digest: str) -> str:
    """For clients that drop tool call ids (the ollama SDK): the call's content, scoped to one API key."""
    return REPLAY_PREFIX + "c:" + digest


# Routing statistics shared by the fleet: rotation/use counters and recent latencies per target.
def routing_counter(name: str) -> str:
    return PREFIX + "route:n:" + name


def routing_latency(target: str) -> str:
    return PREFIX + "route:lat:" + target


# Shared-state primitives of the edge fleet. Names with a `{...}` part keep the keys of one
# primitive instance in one Redis Cluster slot (hash tag).

# Circuit breaker per provider: hash {state, failures, until, period}; absent = closed with no failures.
BREAKER_PREFIX = PREFIX + "breaker:"
# The breaker hash is forgotten after this long without a write (open periods are far shorter).
BREAKER_TTL_MS = 24 * 3600 * 1000


def breaker(provider: str) -> str:
    return BREAKER_PREFIX + "{" + provider + "}"


def breaker_probe(provider: str) -> str:
    """The half-open probe lease (SET NX PX probe_ms): whoever holds it sends the one probe."""
    return breaker(provider) + ":probe"


# Cooldown per provider connection: a key living exactly as long as the cooldown, plus the
# escalation level (expires after CooldownPolicy.level_ttl_ms without a new cooldown).
COOLDOWN_PREFIX = PREFIX + "cooldown:"
# Cap on a cooldown taken from an upstream Retry-After hint.
MAX_RETRY_AFTER_MS = 24 * 3600 * 1000


def cooldown(connection_id: str) -> str:
    return COOLDOWN_PREFIX + "{" + connection_id + "}"


def cooldown_level(connection_id: str) -> str:
    return cooldown(connection_id) + ":level"


# GCRA limiter: one TAT (theoretical arrival time, epoch ms) per limited key; expires when the TAT passes.
RATELIMIT_PREFIX = PREFIX + "rl:"


def ratelimit(key: str) -> str:
    """`key` is built by the caller (e.g. "k:<api key id>:rpm"); it may carry its own hash tag."""
    return RATELIMIT_PREFIX + key


# Concurrency semaphore: ZSET of holders scored by lease expiry (epoch ms); expires with its last lease.
SEMAPHORE_PREFIX = PREFIX + "sem:"


def semaphore(key: str) -> str:
    return SEMAPHORE_PREFIX + key


# Idempotency record: hash {state, fp, owner, resp}; PX = lease while in progress, retention once done.
IDEMPOTENCY_PREFIX = PREFIX + "idem:"


def idempotency(scope_digest: str) -> str:
    """`scope_digest` is the sha256 hex of the caller's scope key (API key id + idempotency key)."""
    return IDEMPOTENCY_PREFIX + "{" + scope_digest + "}"


# Session affinity: session key -> pinned connection id, sliding TTL.
SESSION_PREFIX = PREFIX + "session:"


def session(session_key: str) -> str:
    return SESSION_PREFIX + session_key


# A connection's model list as its upstream last answered it (control plane, /api/providers/{id}/models).
PROVIDER_MODELS_PREFIX = PREFIX + "provider-models:"
PROVIDER_MODELS_TTL_SECONDS = 600


def provider_models(connection_id: str) -> str:
    return PROVIDER_MODELS_PREFIX + connection_id


# Edge replica presence: every edge process (each Granian worker) announces itself off the request
# path. ZSET of replica ids scored by last-seen time (Redis clock, epoch ms), plus one JSON record
# per replica living EDGE_REPLICA_TTL_MS after its last announcement. Both share the `{edges}`
# hash tag so one Redis Cluster slot holds the whole set.
EDGE_REPLICAS = PREFIX + "{edges}:replicas"
# How often a replica announces itself (it also announces at once when its snapshot version changes).
EDGE_HEARTBEAT_MS = 5_000
# A replica seen within this long counts as live in /api/monitoring/health.
EDGE_RECENT_MS = 30_000
# Records (and set members) older than this are dropped; long enough to show a replica that just stopped.
EDGE_REPLICA_TTL_MS = 120_000


def edge_replica(replica_id: str) -> str:
    return PREFIX + "{edges}:replica:" + replica_id[:128]


# OAuth: a pending authorization-code flow by its state, a pending device flow by its id (both
# short-lived, single use), and the lock that serialises one connection's token refresh.
OAUTH_PREFIX = PREFIX + "oauth:"


def oauth_flow(state: str) -> str:
    return OAUTH_PREFIX + "flow:" + state


def oauth_device_flow(flow_id: str) -> str:
    return OAUTH_PREFIX + "device:" + flow_id


def oauth_refresh_lock(connection_id: str) -> str:
    return OAUTH_PREFIX + "refresh-lock:" + connection_id


# Failed-login window per client address: ZSET of attempts scored by time (epoch ms); expires with the window.
LOGIN_ATTEMPTS_PREFIX = PREFIX + "login:"


def login_attempts(client: str) -> str:
    return LOGIN_ATTEMPTS_PREFIX + client[:128]


# Per-API-key budget (shared/kv/budget.py): hash {start, period, spent, reserved, r:<request id>}
# in integer micro-dollars, and a ZSET of open reservations scored by lease expiry (epoch ms).
# Both live a day past the end of their period; the hash tag keeps one key's pair in one slot.
BUDGET_PREFIX = PREFIX + "budget:"


def budget(key_id: str) -> str:
    return BUDGET_PREFIX + "{" + key_id + "}"


def budget_leases(key_id: str) -> str:
    return budget(key_id) + ":leases"


# Last health probe of a provider connection (JSON written by the workers' probe job, read by
# /api/monitoring/health). The TTL spans a few probe rounds, so a stopped prober's results vanish.
HEALTH_PROBE_PREFIX = PREFIX + "health:probe:"
HEALTH_PROBE_TTL_MS = 10 * 60 * 1000


def health_probe(connection_id: str) -> str:
    return HEALTH_PROBE_PREFIX + connection_id
