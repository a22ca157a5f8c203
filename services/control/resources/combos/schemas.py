"""Wire shapes of /api/combos (SPEC §11)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["ComboCreate", "ComboList", "ComboUpdate", "ComboView", "Step", "StepObject"]

Strategy = Literal["priority", "weighted", "round-robin", "random", "least-used", "cost-optimized", "latency", "p2c"]
Name = Annotated[str, Meta(min_length=1, max_length=256)]  # the name pattern is checked with a clearer message
Text = Annotated[str, Meta(min_length=1, max_length=512)]
Weight = Annotated[int, Meta(ge=1, le=1000)]


class StepObject(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """`{"provider", "model"}` or `{"model": "provider/model"}` or `{"combo"}`, with optional weight and connection."""

    provider: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    model: Text | None = None
    combo: Name | None = None
    weight: Weight | None = None
    connection_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None


Step = Text | StepObject  # a string is `provider/model` or a combo name
Steps = Annotated[list[Step], Meta(min_length=1, max_length=100)]


class ComboCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    name: Name
    strategy: Strategy
    models: Steps
    is_active: bool = True


class ComboUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Only the fields present change."""

    name: Name | UnsetType = UNSET
    strategy: Strategy | UnsetType = UNSET
    models: Steps | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class ComboView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    name: str
    strategy: str
    models: list[dict[str, Any]]  # normalised: {"model": "provider/model"} | {"combo": name}, + weight, connectionId
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ComboList(msgspec.Struct, kw_only=True):
    combos: list[ComboView]
    total: int
