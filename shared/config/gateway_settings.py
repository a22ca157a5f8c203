"""General, client-filter and prompt settings: typed, with defaults, read from the snapshot's settings.

The control plane stores each under its own `settings` row ("general", "ipFilter",
"thinkingBudget", "systemPrompt") through /api/settings and its sub-resources; every edge reads
them from its snapshot. As with the resilience rows, a row holds only the fields ever set and a
malformed row reads as the defaults, which change nothing about a request.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec

__all__ = [
    "DEFAULT_AUDIT_RETENTION_DAYS",
    "MAX_SYSTEM_PROMPT_CHARS",
    "MAX_THINKING_TOKENS",
    "MIN_AUDIT_RETENTION_DAYS",
    "GeneralSettings",
    "IpFilterSettings",
    "SystemPromptSettings",
    "ThinkingBudgetSettings",
    "typed_setting",
]

MAX_SYSTEM_PROMPT_CHARS = 50_000
# A year of audit history by default; never less than 30 days, so erasing the trail (and the change
# that shortened it) takes a month of the change being on record.
DEFAULT_AUDIT_RETENTION_DAYS = 365
MIN_AUDIT_RETENTION_DAYS = 30
MAX_THINKING_TOKENS = 131_072

ThinkingMode = Literal["passthrough", "auto", "custom", "off"]
PromptMode = Literal["prepend", "append", "replace"]


class GeneralSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """`/api/settings`: what is not a sub-resource of its own."""

    # False lets the control plane answer requests without credentials, from loopback only.
    require_login: bool = True
    # Request logs (usage_events) older than this are deleted by the workers; None keeps them.
    usage_retention_days: int | None = None
    # Scheduled backups (/api/db-backups): one every this many hours (None: off); the workers keep
    # the newest `backupRetention` backups of each kind (scheduled, manual).
    backup_interval_hours: int | None = 24
    backup_retention: int = 7
    # Audit rows older than this are deleted by the workers; None keeps them forever.
    audit_retention_days: int | None = DEFAULT_AUDIT_RETENTION_DAYS


class IpFilterSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """`/api/settings/ip-filter`: which client addresses the edges serve (CIDR or single address)."""

    allow: tuple[str, ...] = ()  # non-empty: only these
    block: tuple[str, ...] = ()  # never these (wins over allow)
    # Peers whose X-Forwarded-For is believed (load balancers, reverse proxies).
    trusted_proxies: tuple[str, ...] = ()


class ThinkingBudgetSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """`/api/settings/thinking-budget`: what the edge does to a request's reasoning settings."""

    mode: ThinkingMode = "passthrough"
    tokens: int | None = None  # the budget of mode "custom"


class SystemPromptSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """`/api/settings/system-prompt`: a system prompt the edge adds to every chat request when enabled."""

    enabled: bool = False
    prompt: str = ""
    mode: PromptMode = "prepend"


S = TypeVar("S", bound=msgspec.Struct)


def typed_setting(settings: dict[str, Any], key: str, kind: type[S]) -> S:
    """The row `key` of a snapshot's settings as `kind`; missing or malformed reads as the defaults."""
    raw = settings.get(key)
    try:
        return msgspec.convert(raw if isinstance(raw, dict) else {}, kind)
    except msgspec.ValidationError:
        return kind()
