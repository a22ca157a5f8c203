"""Wire shapes of /api/policies: camelCase mirrors of shared.config.snapshot.PolicyConfig."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["PolicyCreate", "PolicyList", "PolicyUpdate", "PolicyView"]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Priority = Annotated[int, Meta(ge=0, le=1_000_000)]
Globs = Annotated[list[Annotated[str, Meta(min_length=1, max_length=256)]], Meta(max_length=1000)]
KeyIds = Annotated[list[uuid.UUID], Meta(max_length=1000)]
Days = Annotated[list[Annotated[int, Meta(ge=0, le=6)]], Meta(max_length=7)]  # 0 = Monday, UTC
Hour = Annotated[int, Meta(ge=0, le=24)]  # UTC; the window is [hourFrom, hourTo)
Effect = Literal["allow", "deny"]
Providers = Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(max_length=100)]
MaxTokens = Annotated[int, Meta(ge=1, le=100_000_000)]


class PolicyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    name: Name
    priority: Priority = 100
    enabled: bool = True
    models: Globs = msgspec.field(default_factory=list)
    key_ids: KeyIds = msgspec.field(default_factory=list)
    days: Days = msgspec.field(default_factory=list)
    hour_from: Hour | None = None
    hour_to: Hour | None = None
    effect: Effect = "allow"
    prefer_providers: Providers = msgspec.field(default_factory=list)
    max_tokens: MaxTokens | None = None


class PolicyUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Only the fields present change; `null` clears an optional field."""

    name: Name | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    models: Globs | UnsetType = UNSET
    key_ids: KeyIds | UnsetType = UNSET
    days: Days | UnsetType = UNSET
    hour_from: Hour | UnsetType | None = UNSET
    hour_to: Hour | UnsetType | None = UNSET
    effect: Effect | UnsetType = UNSET
    prefer_providers: Providers | UnsetType = UNSET
    max_tokens: MaxTokens | UnsetType | None = UNSET


class PolicyView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    name: str
    priority: int
    enabled: bool
    models: list[str]
    key_ids: list[str]
    days: list[int]
    hour_from: int | None
    hour_to: int | None
    effect: str
    prefer_providers: list[str]
    max_tokens: int | None
    created_at: datetime
    updated_at: datetime


class PolicyList(msgspec.Struct, kw_only=True):
    policies: list[PolicyView]
    total: int
