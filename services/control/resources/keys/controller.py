"""/api/keys: create (raw key shown once), list (masked), read, update, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UNSET, structs

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import InvalidField, NotFoundError
from services.control.params import parse_uuid
from services.control.resources.deleted import Deleted
from services.control.resources.keys import queries
from services.control.resources.keys.schemas import KeyCreate, KeyCreated, KeyList, KeyUpdate, KeyView
from shared.crypto import generate_api_key, hash_api_key, mask_secret
from shared.ids import new_id

__all__ = ["KeysController"]


def _view_fields(row: asyncpg.Record) -> dict[str, Any]:
    now = datetime.now(UTC)
    expires = row["expires_at"]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "key_prefix": row["key_prefix"],
        "scopes": list(row["scopes"]),
        "allowed_models": list(row["allowed_models"]),
        "max_requests_per_minute": row["max_requests_per_minute"],
        "max_requests_per_day": row["max_requests_per_day"],
        "max_tokens_per_minute": row["max_tokens_per_minute"],
        "expires_at": expires,
        "revoked_at": row["revoked_at"],
        "is_active": row["revoked_at"] is None and (expires is None or expires > now),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _view(row: asyncpg.Record) -> KeyView:
    return KeyView(**_view_fields(row))


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidField("expiresAt", "must be in the future")


def _check_globs(globs: list[str]) -> None:
    for index, glob in enumerate(globs):
        if any(ord(ch) < 0x20 for ch in glob):
            raise InvalidField(f"allowedModels[{index}]", "must not contain control characters")


class KeysController(Controller):
    path = "/api/keys"
    tags = ["keys"]

    @get("/")
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        include_revoked: Annotated[bool, QueryParameter(name="includeRevoked")] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> KeyList:
        """List keys; only a masked prefix of each key is ever shown again."""
        state = control_state(request)
        rows = await queries.fetch_page(state.pool, include_revoked, limit, offset)
        return KeyList(keys=[_view(r) for r in rows], total=await queries.count(state.pool, include_revoked))

    @post("/", status_code=201)
    async def create_key(self, request: Request[Any, Any, Any], data: JSONBody[KeyCreate]) -> KeyCreated:
        """Create a key; the raw key is in this answer and nowhere else."""
        _check_expiry(data.expires_at)
        _check_globs(data.allowed_models)
        state = control_state(request)
        raw = generate_api_key()
        ident = new_id()
        values = structs.asdict(data)
        values["scopes"] = sorted(set(values["scopes"]))
        async with state.writer.transaction() as conn:
            row = await queries.insert(conn, ident, hash_api_key(raw), mask_secret(raw) or "", values)
            view = _view(row)
            await audit.record(
                conn, actor_of(request), "key.created", "api_key", ident, None, msgspec.to_builtins(view)
            )
        return KeyCreated(**_view_fields(row), key=raw)

    @get("/{key_id:str}")
    async def get_key(self, request: Request[Any, Any, Any], key_id: FromPath[str]) -> KeyView:
        row = await queries.fetch(control_state(request).pool, parse_uuid(key_id, "API key"))
        if row is None:
            raise NotFoundError("API key")
        return _view(row)

    @put("/{key_id:str}")
    async def update_key(
        self, request: Request[Any, Any, Any], key_id: FromPath[str], data: JSONBody[KeyUpdate]
    ) -> KeyView:
        """Change the fields present in the body."""
        state = control_state(request)
        ident = parse_uuid(key_id, "API key")
        changes = {k: v for k, v in structs.asdict(data).items() if v is not UNSET}
        if "expires_at" in changes:
            _check_expiry(changes["expires_at"])
        if "allowed_models" in changes:
            _check_globs(changes["allowed_models"])
        if "scopes" in changes:
            changes["scopes"] = sorted(set(changes["scopes"]))
        async with state.writer.transaction() as conn:
            row = await queries.fetch(conn, ident, for_update=True)
            if row is None:
                raise NotFoundError("API key")
            values = {column: row[column] for column in queries.EDITABLE}
            values.update(changes)
            updated = await queries.update(conn, ident, values)
            view = _view(updated)
            await audit.record(
                conn,
                actor_of(request),
                "key.updated",
                "api_key",
                ident,
                msgspec.to_builtins(_view(row)),
                msgspec.to_builtins(view),
            )
        return view

    @delete("/{key_id:str}", status_code=200)
    async def revoke_key(self, request: Request[Any, Any, Any], key_id: FromPath[str]) -> Deleted:
        """Revoke: the key stops working on every edge within a second."""
        state = control_state(request)
        ident = parse_uuid(key_id, "API key")
        async with state.writer.transaction() as conn:
            row = await queries.fetch(conn, ident, for_update=True)
            if row is None:
                raise NotFoundError("API key")
            if row["revoked_at"] is None:
                revoked = await queries.revoke(conn, ident)
                await audit.record(
                    conn,
                    actor_of(request),
                    "key.revoked",
                    "api_key",
                    ident,
                    msgspec.to_builtins(_view(row)),
                    msgspec.to_builtins(_view(revoked)),
                )
        return Deleted(id=ident, deleted=True)
