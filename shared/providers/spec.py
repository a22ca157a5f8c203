"""What a provider is: data, not logic (where it lives, how it authenticates, which dialect it speaks)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["AuthStyle", "ProviderSpec"]


class AuthStyle(enum.Enum):
    BEARER = "bearer"  # Authorization: Bearer <key>
    API_KEY_HEADER = "api-key"  # api-key: <key> (Azure OpenAI)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    id: str
    name: str
    dialect: str
    base_url: str | None
    auth: AuthStyle = AuthStyle.BEARER
    aliases: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    requires_api_key: bool = True
    chat_path: str = "/chat/completions"
    models_path: str = "/models"

    @property
    def requires_base_url(self) -> bool:
        return self.base_url is None
