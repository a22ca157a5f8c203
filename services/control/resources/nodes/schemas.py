"""Wire shapes of /api/provider-nodes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["NodeCreate", "NodeList", "NodeUpdate", "NodeView"]

Prefix = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9._-]{0,31}$")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
Secret = Annotated[str, Meta(min_length=1, max_length=8192)]
ModelId = Annotated[str, Meta(min_length=1, max_length=256)]
Models = Annotated[list[ModelId], Meta(max_length=10_000)]
NodeType = Literal["openai-compatible", "anthropic-compatible"]


class NodeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    prefix: Prefix
    name: Name
    type: NodeType
    base_url: Url
    api_key: Secret | None = None
    models: Models = msgspec.field(default_factory=list)
    is_active: bool = True


class NodeUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    name: Name | UnsetType = UNSET
    type: NodeType | UnsetType = UNSET
    base_url: Url | UnsetType = UNSET
    api_key: Secret | UnsetType | None = UNSET
    models: Models | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class NodeView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    prefix: str
    name: str
    type: str
    base_url: str
    api_key: str | None
    models: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class NodeList(msgspec.Struct, kw_only=True):
    nodes: list[NodeView]
    total: int
