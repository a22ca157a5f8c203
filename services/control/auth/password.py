"""The admin password: stored hashed, bootstrapped once from INITIAL_PASSWORD."""

from __future__ import annotations

import asyncpg

from shared.crypto import hash_password, verify_password
from shared.settings import Settings, SettingsError

__all__ = ["check_password", "ensure_admin_password"]


async def ensure_admin_password(pool: asyncpg.Pool, settings: Settings) -> None:
    """Store the hash of INITIAL_PASSWORD if no password exists yet; refuse to start without one."""
    existing = await pool.fetchval("SELECT 1 FROM admin_auth WHERE id = 1")
    if existing:
        return
    if not settings.initial_password:
        raise SettingsError("INITIAL_PASSWORD is not set and no admin password is stored yet")
    await pool.execute(
        "INSERT INTO admin_auth (id, password_hash) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        hash_password(settings.initial_password),
    )


async def check_password(pool: asyncpg.Pool, password: str) -> bool:
    stored = await pool.fetchval("SELECT password_hash FROM admin_auth WHERE id = 1")
    return isinstance(stored, str) and verify_password(password, stored)
