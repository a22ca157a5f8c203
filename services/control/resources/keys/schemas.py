"""Wire shapes of /api/keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["KeyCreate", "KeyCreated", "KeyList", "KeyUpdate", "KeyView"]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Scope = Literal["inference", "admin"]
Scopes = Annotated[list[Scope], Meta(min_length=1, max_length=8)]
Glob = Annotated[str, Meta(min_length=1, max_length=256)]
Globs = Annotated[list[Glob], Meta(max_length=1000)]
Limit = Annotated[int, Meta(ge=1, le=1_000_000_000)]
When = Annotated[datetime, Meta(tz=True)]


class KeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    name: Name
    scopes: Scopes = msgspec.field(default_factory=lambda: ["inference"])
    allowed_models: Globs = msgspec.field(default_factory=list)
    max_requests_per_minute: Limit | None = None
    max_requests_per_day: Limit | None = None
    max_tokens_per_minute: Limit | None = None
    expires_at: When | None = None


class KeyUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    name: Name | UnsetType = UNSET
    scopes: Scopes | UnsetType = UNSET
    allowed_models: Globs | UnsetType = UNSET
    max_requests_per_minute: Limit | UnsetType | None = UNSET
    max_requests_per_day: Limit | UnsetType | None = UNSET
    max_tokens_per_minute: Limit | UnsetType | None = UNSET
    expires_at: When | UnsetType | None = UNSET


class KeyView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    name: str
    key_prefix: str
    scopes: list[str]
    allowed_models: list[str]
    max_requests_per_minute: int | None
    max_requests_per_day: int | None
    max_tokens_per_minute: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class KeyCreated(KeyView, kw_only=True, rename="camel"):
    key: str  # the raw key: shown in this answer only


class KeyList(msgspec.Struct, kw_only=True):
    keys: list[KeyView]
    total: int
