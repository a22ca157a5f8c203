"""Wire shapes of /api/providers (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["ProviderCreate", "ProviderList", "ProviderUpdate", "ProviderView"]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
ProviderId = Annotated[str, Meta(min_length=1, max_length=64)]
Secret = Annotated[str, Meta(min_length=1, max_length=8192)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
ModelId = Annotated[str, Meta(min_length=1, max_length=256)]
Priority = Annotated[int, Meta(ge=0, le=100_000)]
Limit = Annotated[int, Meta(ge=1, le=1_000_000_000)]


class ProviderCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    provider: ProviderId
    name: Name
    api_key: Secret | None = None
    base_url: Url | None = None
    priority: Priority = 1
    is_active: bool = True
    default_model: ModelId | None = None
    models: Annotated[list[ModelId], Meta(max_length=10_000)] = msgspec.field(default_factory=list)
    provider_specific_data: dict[str, Any] = msgspec.field(default_factory=dict)
    max_requests_per_minute: Limit | None = None
    max_requests_per_day: Limit | None = None
    max_tokens_per_minute: Limit | None = None
    max_concurrent: Limit | None = None


class ProviderUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Only the fields present change; `null` clears an optional field."""

    name: Name | UnsetType = UNSET
    api_key: Secret | UnsetType | None = UNSET
    base_url: Url | UnsetType | None = UNSET
    priority: Priority | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    default_model: ModelId | UnsetType | None = UNSET
    models: Annotated[list[ModelId], Meta(max_length=10_000)] | UnsetType = UNSET
    provider_specific_data: dict[str, Any] | UnsetType = UNSET
    max_requests_per_minute: Limit | UnsetType | None = UNSET
    max_requests_per_day: Limit | UnsetType | None = UNSET
    max_tokens_per_minute: Limit | UnsetType | None = UNSET
    max_concurrent: Limit | UnsetType | None = UNSET


class ProviderView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    provider: str
    name: str
    auth_type: str
    api_key: str | None
    base_url: str | None
    priority: int
    is_active: bool
    default_model: str | None
    models: list[str]
    provider_specific_data: dict[str, Any]
    max_requests_per_minute: int | None
    max_requests_per_day: int | None
    max_tokens_per_minute: int | None
    max_concurrent: int | None
    created_at: datetime
    updated_at: datetime


class ProviderList(msgspec.Struct, kw_only=True):
    providers: list[ProviderView]
    total: int
