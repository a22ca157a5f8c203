"""The gateway settings an edge applies, compiled once per snapshot and kept in its memo.

A request reads them with one dict probe; a new snapshot brings a new memo, so a change made in
the control plane is in force as soon as the edge has swapped the snapshot in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.client_filter import ClientFilter
from shared.config.gateway_settings import (
    IpFilterSettings,
    SystemPromptSettings,
    ThinkingBudgetSettings,
    typed_setting,
)
from shared.request_rewrite import RequestRewrite
from shared.routing.config import EdgeConfig

__all__ = ["client_filter", "request_rewrite"]

_FILTER = ("gateway-settings", "ipFilter")
_REWRITE = ("gateway-settings", "rewrite")


def _memo(config: EdgeConfig, slot: tuple[str, str], compute: Callable[[], Any]) -> Any:
    memo = config.memo
    try:
        return memo[slot]
    except KeyError:
        value = memo[slot] = compute()
        return value


def _compile_filter(config: EdgeConfig) -> ClientFilter | None:
    return ClientFilter.compile(typed_setting(config.settings, "ipFilter", IpFilterSettings))


def _compile_rewrite(config: EdgeConfig) -> RequestRewrite | None:
    rewrite = RequestRewrite(
        thinking=typed_setting(config.settings, "thinkingBudget", ThinkingBudgetSettings),
        system_prompt=typed_setting(config.settings, "systemPrompt", SystemPromptSettings),
    )
    return rewrite if rewrite.active else None


def client_filter(config: EdgeConfig) -> ClientFilter | None:
    """The client address filter in force; None when no allow or block list is set."""
    found: ClientFilter | None = _memo(config, _FILTER, lambda: _compile_filter(config))
    return found


def request_rewrite(config: EdgeConfig) -> RequestRewrite | None:
    """The thinking-budget and system-prompt rewrite in force; None when both leave requests alone."""
    found: RequestRewrite | None = _memo(config, _REWRITE, lambda: _compile_rewrite(config))
    return found
