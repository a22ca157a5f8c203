"""The settings rows behind /api/settings and its client-filter and prompt sub-resources.

Same shape as rules.py (typed rows, merged then validated); the checks that msgspec's types
cannot express live here and name the field, with the entry for a list.
"""

from __future__ import annotations

from collections.abc import Collection

from services.control.errors import InvalidField
from services.control.resources.settings.rules import SettingsRow
from shared.client_filter import parse_network
from shared.config.gateway_settings import (
    MAX_SYSTEM_PROMPT_CHARS,
    MAX_THINKING_TOKENS,
    MIN_AUDIT_RETENTION_DAYS,
    GeneralSettings,
    IpFilterSettings,
    SystemPromptSettings,
    ThinkingBudgetSettings,
)

__all__ = ["GENERAL", "IP_FILTER", "MAX_LIST_ENTRIES", "SYSTEM_PROMPT", "THINKING_BUDGET"]

MAX_LIST_ENTRIES = 10_000
_MAX_RETENTION_DAYS = 3650
_MAX_BACKUP_INTERVAL_HOURS = 24 * 366
_MAX_BACKUPS_KEPT = 1000


def _general(value: GeneralSettings, given: Collection[str]) -> None:
    days = value.usage_retention_days
    if days is not None and not 1 <= days <= _MAX_RETENTION_DAYS:
        raise InvalidField("usageRetentionDays", f"must be null or an integer from 1 to {_MAX_RETENTION_DAYS}")
    hours = value.backup_interval_hours
    if hours is not None and not 1 <= hours <= _MAX_BACKUP_INTERVAL_HOURS:
        raise InvalidField(
            "backupIntervalHours", f"must be null (off) or an integer from 1 to {_MAX_BACKUP_INTERVAL_HOURS}"
        )
    if not 1 <= value.backup_retention <= _MAX_BACKUPS_KEPT:
        raise InvalidField("backupRetention", f"must be an integer from 1 to {_MAX_BACKUPS_KEPT}")
    audit = value.audit_retention_days
    if audit is not None and not MIN_AUDIT_RETENTION_DAYS <= audit <= _MAX_RETENTION_DAYS:
        raise InvalidField(
            "auditRetentionDays",
            f"must be null or an integer from {MIN_AUDIT_RETENTION_DAYS} to {_MAX_RETENTION_DAYS}",
        )


def _cidrs(field: str, entries: tuple[str, ...]) -> None:
    if len(entries) > MAX_LIST_ENTRIES:
        raise InvalidField(field, f"at most {MAX_LIST_ENTRIES} entries")
    for index, entry in enumerate(entries):
        try:
            parse_network(entry)
        except ValueError:
            shown = entry[:64]
            raise InvalidField(
                f"{field}[{index}]", f"{shown!r} is not an IPv4 or IPv6 address or CIDR (host bits must be zero)"
            ) from None


def _ip_filter(value: IpFilterSettings, given: Collection[str]) -> None:
    _cidrs("allow", value.allow)
    _cidrs("block", value.block)
    _cidrs("trustedProxies", value.trusted_proxies)


def _thinking(value: ThinkingBudgetSettings, given: Collection[str]) -> None:
    tokens = value.tokens
    if tokens is not None and not 1 <= tokens <= MAX_THINKING_TOKENS:
        raise InvalidField("tokens", f"must be an integer from 1 to {MAX_THINKING_TOKENS}")
    if value.mode == "custom" and tokens is None:
        raise InvalidField("tokens", "is required when mode is custom")


def _system_prompt(value: SystemPromptSettings, given: Collection[str]) -> None:
    if len(value.prompt) > MAX_SYSTEM_PROMPT_CHARS:
        raise InvalidField("prompt", f"at most {MAX_SYSTEM_PROMPT_CHARS} characters")
    if "\x00" in value.prompt:
        raise InvalidField("prompt", "must not contain NUL characters")
    if value.enabled and not value.prompt.strip():
        raise InvalidField("prompt", "must not be empty while the system prompt is enabled")


GENERAL = SettingsRow("general", GeneralSettings, _general)
IP_FILTER = SettingsRow("ipFilter", IpFilterSettings, _ip_filter)
THINKING_BUDGET = SettingsRow("thinkingBudget", ThinkingBudgetSettings, _thinking)
SYSTEM_PROMPT = SettingsRow("systemPrompt", SystemPromptSettings, _system_prompt)
