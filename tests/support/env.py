"""Settings and environments for tests: fixed fake secrets, separate databases and Redis dbs."""

from __future__ import annotations

import os
import socket

from shared.settings import Settings, load_settings

STORAGE_KEY = "test-storage-encryption-key-0123456789abcdef"
JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"
ADMIN_PASSWORD = "test-admin-password"

PG_ROOT = "postgresql://postgres@127.0.0.1:5432"

# Parallel test runs on one machine (several checkouts at once) take a slot each: slot N > 0
# suffixes every database name with `_sN` and uses its own Redis on port 6390 + N.
SLOT = int(os.environ.get("OMNIROUTE_TEST_SLOT", "0") or "0")
REDIS_PORT = 6379 if SLOT == 0 else 6390 + SLOT


def database_name(name: str) -> str:
    return name if SLOT == 0 else f"{name}_s{SLOT}"


def database_url(name: str) -> str:
    return f"{PG_ROOT}/{database_name(name)}"


def redis_url(db: int) -> str:
    return f"redis://127.0.0.1:{REDIS_PORT}/{db}"


def base_env(database: str, redis_db: int, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url(database),
        "REDIS_URL": redis_url(redis_db),
        "STORAGE_ENCRYPTION_KEY": STORAGE_KEY,
        "JWT_SECRET": JWT_SECRET,
        "INITIAL_PASSWORD": ADMIN_PASSWORD,
        "OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS": "true",
        "OMNIROUTE_LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env


def settings_for(database: str, redis_db: int, **extra: str) -> Settings:
    return load_settings(base_env(database, redis_db, **extra))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
