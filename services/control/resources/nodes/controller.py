"""/api/provider-nodes: user-defined OpenAI- or Anthropic-compatible endpoints with their own prefix."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, structs

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import ApiError, InvalidField, NotFoundError
from services.control.params import parse_uuid
from services.control.publish import node_aad
from services.control.resources.deleted import Deleted
from services.control.resources.nodes import queries
from services.control.resources.nodes.schemas import NodeCreate, NodeList, NodeUpdate, NodeView
from services.control.state import ControlState
from shared.crypto import DecryptionError, mask_secret
from shared.ids import new_id
from shared.netguard import UnsafeURL, check_url
from shared.providers.catalog import find_provider

__all__ = ["ProviderNodesController"]


def _view(row: asyncpg.Record, state: ControlState) -> NodeView:
    masked: str | None = None
    if row["api_key_enc"]:
        try:
            masked = mask_secret(state.cipher.decrypt_text(row["api_key_enc"], node_aad(str(row["id"]))))
        except DecryptionError:
            masked = "[undecryptable]"
    return NodeView(
        id=str(row["id"]),
        prefix=row["prefix"],
        name=row["name"],
        type=row["type"],
        base_url=row["base_url"],
        api_key=masked,
        models=list(row["models"]),
        is_active=row["is_active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _checked(values: dict[str, Any], state: ControlState) -> dict[str, Any]:
    if find_provider(values["prefix"]) is not None:
        raise InvalidField("prefix", "is already the id or alias of a catalog provider")
    try:
        values["base_url"] = check_url(values["base_url"], allow_private=state.settings.allow_private_upstreams)
    except UnsafeURL as exc:
        raise InvalidField("baseUrl", str(exc)) from None
    values["name"] = values["name"].strip()
    for field_name, value in (("name", values["name"]), ("apiKey", values.get("api_key") or "")):
        if not value and field_name == "name":
            raise InvalidField("name", "must not be blank")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise InvalidField(field_name, "must not contain control characters")
    return values


def _columns(values: dict[str, Any], state: ControlState, ident: str, kept: bytes | None) -> dict[str, Any]:
    if "api_key" in values:
        key = values["api_key"]
        enc = state.cipher.encrypt_text(key, node_aad(ident)) if key else None
    else:
        enc = kept
    return {**{c: values.get(c) for c in queries.COLUMNS if c != "api_key_enc"}, "api_key_enc": enc}


def _conflict() -> ApiError:
    return ApiError(
        409,
        "a provider node with this prefix already exists",
        "conflict",
        [{"field": "prefix", "message": "already exists"}],
    )


class ProviderNodesController(Controller):
    path = "/api/provider-nodes"
    tags = ["provider-nodes"]

    @get("/")
    async def list_nodes(self, request: Request[Any, Any, Any]) -> NodeList:
        state = control_state(request)
        rows = await queries.fetch_all(state.pool)
        return NodeList(nodes=[_view(r, state) for r in rows], total=len(rows))

    @post("/", status_code=201)
    async def create_node(self, request: Request[Any, Any, Any], data: JSONBody[NodeCreate]) -> NodeView:
        """Create a node; its models are then addressed as `<prefix>/<model>`."""
        state = control_state(request)
        values = _checked(structs.asdict(data), state)
        ident = new_id()
        try:
            async with state.writer.transaction() as conn:
                row = await queries.insert(conn, ident, _columns(values, state, ident, None))
                view = _view(row, state)
                await audit.record(
                    conn,
                    actor_of(request),
                    "provider_node.created",
                    "provider_node",
                    ident,
                    None,
                    msgspec.to_builtins(view),
                )
        except asyncpg.UniqueViolationError:
            raise _conflict() from None
        return view

    @get("/{node_id:str}")
    async def get_node(self, request: Request[Any, Any, Any], node_id: FromPath[str]) -> NodeView:
        state = control_state(request)
        row = await queries.fetch(state.pool, parse_uuid(node_id, "provider node"))
        if row is None:
            raise NotFoundError("provider node")
        return _view(row, state)

    @put("/{node_id:str}")
    async def update_node(
        self, request: Request[Any, Any, Any], node_id: FromPath[str], data: JSONBody[NodeUpdate]
    ) -> NodeView:
        state = control_state(request)
        ident = parse_uuid(node_id, "provider node")
        async with state.writer.transaction() as conn:
            row = await queries.fetch(conn, ident, for_update=True)
            if row is None:
                raise NotFoundError("provider node")
            before = _view(row, state)
            values: dict[str, Any] = {c: row[c] for c in queries.COLUMNS if c != "api_key_enc"}
            values.update({k: v for k, v in structs.asdict(data).items() if v is not UNSET})
            updated = await queries.update(
                conn, ident, _columns(_checked(values, state), state, ident, row["api_key_enc"])
            )
            view = _view(updated, state)
            await audit.record(
                conn,
                actor_of(request),
                "provider_node.updated",
                "provider_node",
                ident,
                msgspec.to_builtins(before),
                msgspec.to_builtins(view),
            )
        return view

    @delete("/{node_id:str}", status_code=200)
    async def delete_node(self, request: Request[Any, Any, Any], node_id: FromPath[str]) -> Deleted:
        state = control_state(request)
        ident = parse_uuid(node_id, "provider node")
        async with state.writer.transaction() as conn:
            row = await queries.fetch(conn, ident, for_update=True)
            if row is None:
                raise NotFoundError("provider node")
            await queries.delete(conn, ident)
            await audit.record(
                conn,
                actor_of(request),
                "provider_node.deleted",
                "provider_node",
                ident,
                msgspec.to_builtins(_view(row, state)),
            )
        return Deleted(id=ident, deleted=True)
