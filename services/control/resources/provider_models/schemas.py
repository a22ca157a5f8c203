"""Wire shapes of /api/provider-models (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = [
    "CAPABILITIES",
    "Kind",
    "ProviderModelCreate",
    "ProviderModelList",
    "ProviderModelUpdate",
    "ProviderModelView",
]

ProviderId = Annotated[str, Meta(min_length=1, max_length=64)]
ModelId = Annotated[str, Meta(min_length=1, max_length=256)]
DisplayName = Annotated[str, Meta(min_length=1, max_length=200)]
Tokens = Annotated[int, Meta(ge=1, le=100_000_000)]
Kind = Literal["chat", "embedding", "image", "audio"]
# What a model can do, as flags; unknown names are refused so a typo is not silently kept.
CAPABILITIES = ("vision", "tools", "reasoning", "jsonMode", "streaming")
Capabilities = Annotated[dict[str, bool], Meta(max_length=len(CAPABILITIES))]


class ProviderModelCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    provider: ProviderId
    model: ModelId
    display_name: DisplayName | None = None
    kind: Kind = "chat"
    hidden: bool = False
    context_window: Tokens | None = None
    max_output_tokens: Tokens | None = None
    capabilities: Capabilities = msgspec.field(default_factory=dict)


class ProviderModelUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Names the model by `id`, or by `provider` and `model`; only the other fields present change."""

    id: str | UnsetType = UNSET
    provider: ProviderId | UnsetType = UNSET
    model: ModelId | UnsetType = UNSET
    display_name: DisplayName | UnsetType | None = UNSET
    kind: Kind | UnsetType = UNSET
    hidden: bool | UnsetType = UNSET
    context_window: Tokens | UnsetType | None = UNSET
    max_output_tokens: Tokens | UnsetType | None = UNSET
    capabilities: Capabilities | UnsetType = UNSET


class ProviderModelView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    provider: str
    model: str
    display_name: str | None
    kind: str
    hidden: bool
    custom: bool  # False: a catalog (or provider node) model this row hides or describes
    context_window: int | None
    max_output_tokens: int | None
    capabilities: dict[str, bool]
    created_at: datetime
    updated_at: datetime


class ProviderModelList(msgspec.Struct, kw_only=True):
    models: list[ProviderModelView]
    total: int
