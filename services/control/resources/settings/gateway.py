"""/api/settings (general), /api/settings/{ip-filter,thinking-budget,system-prompt,require-login}.

Each is a typed settings row (gateway_rules.py) shipped to every edge in the snapshot. PUT on
/api/settings replaces the whole object (fields left out go back to their defaults); PATCH, and
PUT on the sub-resources, change only the fields given. Every write is one transaction with its
audit row (`settings.updated`, target the row) and publishes a snapshot. Invalid values and
unknown fields are 422 naming the field; a body that is not a JSON object is 400.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, put
from litestar.params import JSONBody

from services.control.errors import InvalidField
from services.control.resources.settings.gateway_rules import GENERAL, IP_FILTER, SYSTEM_PROMPT, THINKING_BUDGET
from services.control.resources.settings.rules import SettingsRow
from services.control.resources.settings.store import read_row, write_row
from shared.config.gateway_settings import (
    GeneralSettings,
    IpFilterSettings,
    SystemPromptSettings,
    ThinkingBudgetSettings,
)

__all__ = [
    "GeneralSettingsController",
    "IpFilterController",
    "RequireLoginController",
    "SystemPromptController",
    "ThinkingBudgetController",
]


class RequireLogin(msgspec.Struct, rename="camel"):
    require_login: bool


async def _write(request: Request[Any, Any, Any], row: SettingsRow, change: dict[str, Any], replace: bool) -> Any:
    # well-formed JSON with a value the setting does not take is a 422 on these endpoints
    return await write_row(request, row, change, replace=replace, invalid_status=422)


class GeneralSettingsController(Controller):
    path = "/api/settings"
    tags = ["settings"]

    @get("/")
    async def get_settings(self, request: Request[Any, Any, Any]) -> GeneralSettings:
        """General settings: `requireLogin` (also /api/settings/require-login), the retention days."""
        result: GeneralSettings = await read_row(request, GENERAL)
        return result

    @put("/")
    async def put_settings(self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> GeneralSettings:
        """Replace the general settings: fields left out return to their defaults."""
        result: GeneralSettings = await _write(request, GENERAL, data, replace=True)
        return result

    @patch("/")
    async def patch_settings(self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> GeneralSettings:
        """Change only the fields given."""
        result: GeneralSettings = await _write(request, GENERAL, data, replace=False)
        return result


class IpFilterController(Controller):
    path = "/api/settings/ip-filter"
    tags = ["settings"]

    @get("/")
    async def get_ip_filter(self, request: Request[Any, Any, Any]) -> IpFilterSettings:
        """Client address allow and block lists (CIDR) and the trusted proxies, enforced by every edge."""
        result: IpFilterSettings = await read_row(request, IP_FILTER)
        return result

    @put("/")
    async def put_ip_filter(self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> IpFilterSettings:
        """Set the lists given (`allow`, `block`, `trustedProxies`); the others keep theirs."""
        result: IpFilterSettings = await _write(request, IP_FILTER, data, replace=False)
        return result


class ThinkingBudgetController(Controller):
    path = "/api/settings/thinking-budget"
    tags = ["settings"]

    @get("/")
    async def get_thinking_budget(self, request: Request[Any, Any, Any]) -> ThinkingBudgetSettings:
        """The reasoning budget mode the edges apply: passthrough (default), auto, custom (`tokens`) or off."""
        result: ThinkingBudgetSettings = await read_row(request, THINKING_BUDGET)
        return result

    @put("/")
    async def put_thinking_budget(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> ThinkingBudgetSettings:
        """Set the fields given (`mode`, `tokens`)."""
        result: ThinkingBudgetSettings = await _write(request, THINKING_BUDGET, data, replace=False)
        return result


class SystemPromptController(Controller):
    path = "/api/settings/system-prompt"
    tags = ["settings"]

    @get("/")
    async def get_system_prompt(self, request: Request[Any, Any, Any]) -> SystemPromptSettings:
        """The system prompt the edges add to chat requests when `enabled` (off by default)."""
        result: SystemPromptSettings = await read_row(request, SYSTEM_PROMPT)
        return result

    @put("/")
    async def put_system_prompt(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> SystemPromptSettings:
        """Set the fields given (`enabled`, `prompt`, `mode`)."""
        result: SystemPromptSettings = await _write(request, SYSTEM_PROMPT, data, replace=False)
        return result


class RequireLoginController(Controller):
    path = "/api/settings/require-login"
    tags = ["settings"]

    @get("/")
    async def get_require_login(self, request: Request[Any, Any, Any]) -> RequireLogin:
        """Whether the management API needs credentials from local callers too (default true)."""
        general: GeneralSettings = await read_row(request, GENERAL)
        return RequireLogin(require_login=general.require_login)

    @put("/")
    async def put_require_login(self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> RequireLogin:
        """`{"requireLogin": bool}`; false lets loopback callers in without credentials (never others)."""
        unknown = sorted(set(data) - {"requireLogin"})
        if unknown:
            raise InvalidField(unknown[0][:128], "unknown field; known: requireLogin", status=422)
        if not isinstance(data.get("requireLogin"), bool):
            raise InvalidField("requireLogin", "required, true or false", status=422)
        general: GeneralSettings = await _write(request, GENERAL, data, replace=False)
        return RequireLogin(require_login=general.require_login)
