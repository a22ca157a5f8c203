"""Combo steps normalised to what the snapshot carries, and the reference graph kept acyclic and shallow.

A stored step is `{"model": "provider/model"}` or `{"combo": "name"}`, with an optional `"weight"`
and, for model steps, an optional `"connectionId"` (services/control/publish.py `_combo` reads it).
"""

from __future__ import annotations

import uuid
from typing import Any

from services.control.db.types import Conn
from services.control.errors import InvalidField
from services.control.resources.combos.schemas import Step, StepObject
from services.control.resources.names import MAX_COMBO_DEPTH, Names, check_printable

__all__ = ["check_graph", "normalise_steps"]


def _model_step(field: str, provider: str, model: str) -> dict[str, Any]:
    check_printable(field, model)
    return {"model": f"{provider}/{model}"}


def _from_string(field: str, text: str, names: Names) -> dict[str, Any]:
    split = names.split(text)
    if split is not None:
        return _model_step(field, *split)
    if text in names.combos:
        return {"combo": text}
    raise InvalidField(
        field,
        f"{text[:128]!r} is neither provider/model with a known provider (catalog id or alias, or a provider "
        "node's prefix) nor the name of an existing combo",
    )


def _from_object(field: str, step: StepObject, names: Names) -> dict[str, Any]:
    if step.combo is not None:
        if step.provider is not None or step.model is not None or step.connection_id is not None:
            raise InvalidField(field, "a combo step takes no provider, model or connectionId")
        if step.combo not in names.combos:
            raise InvalidField(f"{field}.combo", f"no combo is named {step.combo[:128]!r}")
        return {"combo": step.combo}
    if step.model is None:
        raise InvalidField(f"{field}.model", "is required (or give `combo`)")
    if step.provider is None:
        split = names.split(step.model)
        if split is None:
            raise InvalidField(
                f"{field}.model", "must be provider/model with a known provider when no provider is given"
            )
        return _model_step(f"{field}.model", *split)
    provider = names.provider(step.provider)
    if provider is None:
        raise InvalidField(f"{field}.provider", f"unknown provider {step.provider[:64]!r}")
    model = step.model
    split = names.split(model)
    if split is not None and split[0] == provider:  # {"provider": "openai", "model": "openai/gpt-4o"}
        model = split[1]
    return _model_step(f"{field}.model", provider, model)


async def _check_connections(conn: Conn, steps: list[tuple[str, dict[str, Any], str]]) -> None:
    """Each pinned connection exists and belongs to its step's provider; ids are stored canonical."""
    wanted: dict[str, uuid.UUID] = {}
    for field, _, raw in steps:
        try:
            wanted[field] = uuid.UUID(raw)
        except ValueError:
            raise InvalidField(field, "is not a connection id") from None
    rows = await conn.fetch(
        "SELECT id, provider FROM provider_connections WHERE id = ANY($1::uuid[])", list(wanted.values())
    )
    owners = {row["id"]: row["provider"] for row in rows}
    for field, step, _ in steps:
        ident = wanted[field]
        provider = step["model"].partition("/")[0]
        if ident not in owners:
            raise InvalidField(field, "no provider connection has this id")
        if owners[ident] != provider:
            raise InvalidField(field, f"belongs to provider {owners[ident]!r}, not {provider!r}")
        step["connectionId"] = str(ident)


async def normalise_steps(conn: Conn, raw_steps: list[Step], names: Names) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    pinned: list[tuple[str, dict[str, Any], str]] = []
    for index, raw in enumerate(raw_steps):
        field = f"models[{index}]"
        if isinstance(raw, str):
            steps.append(_from_string(field, raw, names))
            continue
        step = _from_object(field, raw, names)
        if raw.weight is not None:
            step["weight"] = raw.weight
        if raw.connection_id is not None:
            pinned.append((f"{field}.connectionId", step, raw.connection_id))
        steps.append(step)
    if pinned:
        await _check_connections(conn, pinned)
    return steps


def _cycle_through(combos: dict[str, list[str]], start: str) -> list[str] | None:
    """A reference path from `start` back to itself, if any (depth-first, each combo visited once)."""
    seen: set[str] = set()
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        name, path = stack.pop()
        for ref in combos.get(name, ()):
            if ref == start:
                return [*path, ref]
            if ref not in seen:
                seen.add(ref)
                stack.append((ref, [*path, ref]))
    return None


def _longest_chain(combos: dict[str, list[str]], name: str, memo: dict[str, list[str]]) -> list[str]:
    if name not in memo:
        memo[name] = [name]  # placeholder: the graph is acyclic once _cycle_through found nothing
        below = [_longest_chain(combos, ref, memo) for ref in combos.get(name, ()) if ref in combos]
        memo[name] = [name, *max(below, key=len, default=[])]
    return memo[name]


def check_graph(combos: dict[str, list[str]], changed: str) -> None:
    """After `changed` got its references: no cycle through it, and no chain deeper than MAX_COMBO_DEPTH."""
    cycle = _cycle_through(combos, changed)
    if cycle is not None:
        raise InvalidField("models", f"the combo references form a cycle: {' -> '.join(cycle)}")
    memo: dict[str, list[str]] = {}
    for name in sorted(combos):
        chain = _longest_chain(combos, name, memo)
        if len(chain) > MAX_COMBO_DEPTH:
            raise InvalidField(
                "models",
                f"combos nest {len(chain)} deep, more than {MAX_COMBO_DEPTH}: {' -> '.join(chain)}",
            )
