"""What a provider is: data, not logic (where it lives, how it authenticates, which dialect it speaks)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["AuthStyle", "Price", "ProviderSpec", "UrlStyle"]


class AuthStyle(enum.Enum):
    BEARER = "bearer"  # Authorization: Bearer <key>
    API_KEY_HEADER = "api-key"  # api-key: <key> (Azure OpenAI)
    X_API_KEY = "x-api-key"  # x-api-key: <key> (Anthropic)
    GOOG_API_KEY = "x-goog-api-key"  # x-goog-api-key: <key> (Gemini)
    NONE = "none"


class UrlStyle(enum.Enum):
    STANDARD = "standard"  # base URL + the dialect's path
    AZURE = "azure"  # base + /openai/deployments/{deployment} + path + ?api-version=


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cached: float | None = None  # defaults to the input price
    reasoning: float | None = None  # defaults to the output price


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    id: str
    name: str
    dialect: str  # shared/formats/<dialect>
    base_url: str | None  # None: the connection must give one
    auth: AuthStyle = AuthStyle.BEARER
    aliases: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    requires_api_key: bool = True
    url_style: UrlStyle = UrlStyle.STANDARD
    echo_reasoning: bool = False  # assistant turns must carry their reasoning back (DeepSeek, Kimi)
    text_only: frozenset[str] = frozenset()  # models that take no images
    prices: dict[str, Price] = field(default_factory=dict)

    @property
    def requires_base_url(self) -> bool:
        return self.base_url is None
