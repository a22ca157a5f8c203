"""Process settings: one frozen object built from the environment at start, then passed in.

Every variable is validated here and a bad value raises `SettingsError` naming the variable,
so a misconfigured process stops at start with a message an operator can act on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["SECRET_VARIABLES", "Settings", "SettingsError", "load_settings"]

SECRET_VARIABLES = ("STORAGE_ENCRYPTION_KEY", "JWT_SECRET", "INITIAL_PASSWORD")

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/omniroute"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A configuration variable is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-attempt upstream timeouts, in seconds."""

    connect: float = 10.0
    first_byte: float = 120.0
    idle: float = 300.0
    total: float = 600.0


@dataclass(frozen=True, slots=True)
class Settings:
    environment: str = "development"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    data_dir: Path = Path(".omniroute")
    host: str = "127.0.0.1"
    edge_port: int = 20128
    control_port: int = 20129
    worker_port: int = 20130
    fake_upstream_port: int = 20131
    edge_workers: int = 2
    control_workers: int = 1
    initial_password: str | None = None
    require_api_key: bool = True
    storage_encryption_key: str | None = None
    jwt_secret: str | None = None
    allow_private_upstreams: bool = False
    max_body_bytes: int = 20 * 1024 * 1024
    backup_max_bytes: int = 256 * 1024 * 1024  # the largest .sqlite upload /api/db-backups/import takes
    timeouts: Timeouts = field(default_factory=Timeouts)
    snapshot_poll_seconds: float = 1.0
    snapshot_republish_seconds: float = 2.0
    usage_flush_ms: int = 20
    usage_batch_size: int = 256
    usage_claim_idle_ms: int = 30_000
    session_ttl_seconds: int = 7 * 24 * 3600
    log_level: str = "INFO"
    public_url: str | None = None  # where clients reach the edge (OMNIROUTE_PUBLIC_URL), for generated client settings
    evals_edge_url: str | None = None  # where workers send eval cases (OMNIROUTE_EVALS_EDGE_URL); see evals_edge
    evals_case_timeout: float = 120.0  # one eval call through the edge, seconds (OMNIROUTE_EVALS_CASE_TIMEOUT)

    @property
    def evals_edge(self) -> str:
        """The edge the workers run eval cases through: the setting, else this host's edge port."""
        if self.evals_edge_url:
            return self.evals_edge_url.rstrip("/")
        wildcard = self.host in ("0.0.0.0", "::", "")  # noqa: S104 - a listen address, not one to call
        host = "127.0.0.1" if wildcard else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.edge_port}"

    def require(self, *names: str) -> None:
        """Refuse to start when a secret this process needs is unset."""
        values = {
            "STORAGE_ENCRYPTION_KEY": self.storage_encryption_key,
            "JWT_SECRET": self.jwt_secret,
            "INITIAL_PASSWORD": self.initial_password,
        }
        for name in names:
            if not values.get(name):
                raise SettingsError(
                    f"{name} is not set; it is required by this process "
                    "(`omniroute up` generates one into the data dir for local use)"
                )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(name) or default
    malformed = SettingsError(f"{name} must be a URL with scheme {' or '.join(schemes)}, got a malformed value")
    try:
        parts = urlsplit(raw)
    except ValueError:  # e.g. an unclosed "[" in the host
        raise malformed from None
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        raise malformed
    return raw


def _optional_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    return _url(env, name, "", schemes) if env.get(name) else None


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return _int(env, name, default, 1, 65535)


def _secret(env: Mapping[str, str], name: str, min_length: int) -> str | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) < min_length:
        raise SettingsError(f"{name} must be at least {min_length} characters long")
    return raw


def _timeouts(env: Mapping[str, str]) -> Timeouts:
    return Timeouts(
        connect=_float(env, "OMNIROUTE_CONNECT_TIMEOUT", 10.0, 0.05, 600),
        first_byte=_float(env, "OMNIROUTE_FIRST_BYTE_TIMEOUT", 120.0, 0.05, 3600),
        idle=_float(env, "OMNIROUTE_STREAM_IDLE_TIMEOUT", 300.0, 0.05, 3600),
        total=_float(env, "OMNIROUTE_REQUEST_TIMEOUT", 600.0, 0.1, 7200),
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `env` (default: the process environment)."""
    source: Mapping[str, str] = os.environ if env is None else env
    environment = (source.get("OMNIROUTE_ENV") or "development").strip().lower()
    if environment not in {"development", "production"}:
        raise SettingsError(f"OMNIROUTE_ENV must be development or production, got {environment!r}")
    log_level = (source.get("OMNIROUTE_LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"OMNIROUTE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    return Settings(
        environment=environment,
        database_url=_url(source, "DATABASE_URL", DEFAULT_DATABASE_URL, ("postgresql", "postgres")),
        redis_url=_url(source, "REDIS_URL", DEFAULT_REDIS_URL, ("redis", "rediss", "unix")),
        data_dir=Path(source.get("OMNIROUTE_DATA_DIR") or ".omniroute"),
        host=source.get("OMNIROUTE_HOST") or "127.0.0.1",
        edge_port=_port(source, "OMNIROUTE_EDGE_PORT", 20128),
        control_port=_port(source, "OMNIROUTE_CONTROL_PORT", 20129),
        worker_port=_port(source, "OMNIROUTE_WORKER_PORT", 20130),
        fake_upstream_port=_port(source, "OMNIROUTE_FAKE_UPSTREAM_PORT", 20131),
        edge_workers=_int(source, "OMNIROUTE_EDGE_WORKERS", 2, 1, 256),
        control_workers=_int(source, "OMNIROUTE_CONTROL_WORKERS", 1, 1, 64),
        initial_password=_secret(source, "INITIAL_PASSWORD", 8),
        require_api_key=_bool(source, "REQUIRE_API_KEY", True),
        storage_encryption_key=_secret(source, "STORAGE_ENCRYPTION_KEY", 32),
        jwt_secret=_secret(source, "JWT_SECRET", 32),
        allow_private_upstreams=_bool(source, "OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS", False),
        max_body_bytes=_int(source, "OMNIROUTE_MAX_BODY_BYTES", 20 * 1024 * 1024, 1024, 1 << 30),
        backup_max_bytes=_int(source, "OMNIROUTE_BACKUP_MAX_BYTES", 256 * 1024 * 1024, 4096, 1 << 34),
        timeouts=_timeouts(source),
        snapshot_poll_seconds=_float(source, "OMNIROUTE_SNAPSHOT_POLL_SECONDS", 1.0, 0.05, 60),
        snapshot_republish_seconds=_float(source, "OMNIROUTE_SNAPSHOT_REPUBLISH_SECONDS", 2.0, 0.1, 300),
        usage_flush_ms=_int(source, "OMNIROUTE_USAGE_FLUSH_MS", 20, 1, 10_000),
        usage_batch_size=_int(source, "OMNIROUTE_USAGE_BATCH_SIZE", 256, 1, 10_000),
        usage_claim_idle_ms=_int(source, "OMNIROUTE_USAGE_CLAIM_IDLE_MS", 30_000, 100, 3_600_000),
        session_ttl_seconds=_int(source, "OMNIROUTE_SESSION_TTL_SECONDS", 7 * 24 * 3600, 60, 90 * 24 * 3600),
        log_level=log_level,
        public_url=_optional_url(source, "OMNIROUTE_PUBLIC_URL", ("http", "https")),
        evals_edge_url=_optional_url(source, "OMNIROUTE_EVALS_EDGE_URL", ("http", "https")),
        evals_case_timeout=_float(source, "OMNIROUTE_EVALS_CASE_TIMEOUT", 120.0, 1, 3600),
    )
