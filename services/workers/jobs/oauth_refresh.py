"""Job: refresh OAuth access tokens that expire within the lead time (shared/oauth/refresh.py).

Every worker may run it at once (arq runs one cron slot fleet-wide anyway); the per-connection
lease and the compare-and-swap make each token refresh once. A rotation bumps `config_version`;
the control plane's publisher backstop then ships the new token to the edges within seconds.
Without STORAGE_ENCRYPTION_KEY the worker cannot read tokens and the job does nothing.
"""

from __future__ import annotations

from typing import Any

from shared.oauth.refresh import RefreshDeps, refresh_due

__all__ = ["REFRESH_DEPS", "refresh_oauth_tokens"]

REFRESH_DEPS = "oauth_refresh"  # the ctx entry the worker process fills in


async def refresh_oauth_tokens(ctx: dict[str, Any]) -> int:
    """Connections this run refreshed."""
    deps: RefreshDeps | None = ctx.get(REFRESH_DEPS)
    if deps is None:
        return 0
    return await refresh_due(deps)
