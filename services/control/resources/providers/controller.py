"""/api/providers: create, list, read, update and delete provider connections."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from msgspec import UNSET, structs

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import ApiError, NotFoundError
from services.control.params import parse_uuid
from services.control.publish import connection_aad
from services.control.resources.deleted import Deleted
from services.control.resources.providers import queries
from services.control.resources.providers.schemas import ProviderCreate, ProviderList, ProviderUpdate, ProviderView
from services.control.resources.providers.validation import ConnectionDraft, validate_draft
from services.control.state import ControlState
from shared.crypto import DecryptionError, mask_secret
from shared.ids import new_id

__all__ = ["ProvidersController"]


def _view(row: asyncpg.Record, state: ControlState) -> ProviderView:
    masked: str | None = None
    if row["api_key_enc"]:
        try:
            masked = mask_secret(state.cipher.decrypt_text(row["api_key_enc"], connection_aad(str(row["id"]))))
        except DecryptionError:
            masked = "[undecryptable]"
    return ProviderView(
        id=str(row["id"]),
        provider=row["provider"],
        name=row["name"],
        auth_type=row["auth_type"],
        api_key=masked,
        base_url=row["base_url"],
        priority=row["priority"],
        is_active=row["is_active"],
        default_model=row["default_model"],
        models=list(row["models"]),
        provider_specific_data=row["provider_specific_data"] or {},
        max_requests_per_minute=row["max_requests_per_minute"],
        max_requests_per_day=row["max_requests_per_day"],
        max_tokens_per_minute=row["max_tokens_per_minute"],
        max_concurrent=row["max_concurrent"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _columns(
    draft: ConnectionDraft, state: ControlState, ident: str, kept_enc: bytes | None, kept_auth: str | None = None
) -> dict[str, Any]:
    if draft.keeps_key:
        key_enc = kept_enc
    elif draft.api_key:
        key_enc = state.cipher.encrypt_text(draft.api_key, connection_aad(ident))
    else:
        key_enc = None
    return {
        "provider": draft.provider,
        "name": draft.name,
        # An OAuth connection keeps its tokens (written only by /api/oauth) until given an API key.
        "auth_type": "apikey" if key_enc else ("oauth" if kept_auth == "oauth" and draft.keeps_key else "none"),
        "api_key_enc": key_enc,
        "base_url": draft.base_url,
        "priority": draft.priority,
        "is_active": draft.is_active,
        "default_model": draft.default_model,
        "models": draft.models,
        "provider_specific_data": draft.provider_specific_data,
        "max_requests_per_minute": draft.max_requests_per_minute,
        "max_requests_per_day": draft.max_requests_per_day,
        "max_tokens_per_minute": draft.max_tokens_per_minute,
        "max_concurrent": draft.max_concurrent,
    }


def _draft_from_row(row: asyncpg.Record) -> ConnectionDraft:
    return ConnectionDraft(
        provider=row["provider"],
        name=row["name"],
        api_key=None,
        base_url=row["base_url"],
        priority=row["priority"],
        is_active=row["is_active"],
        default_model=row["default_model"],
        models=list(row["models"]),
        provider_specific_data=dict(row["provider_specific_data"] or {}),
        max_requests_per_minute=row["max_requests_per_minute"],
        max_requests_per_day=row["max_requests_per_day"],
        max_tokens_per_minute=row["max_tokens_per_minute"],
        max_concurrent=row["max_concurrent"],
        keeps_key=row["api_key_enc"] is not None or row["auth_type"] == "oauth",
    )


def _apply(draft: ConnectionDraft, change: ProviderUpdate) -> None:
    for name, value in structs.asdict(change).items():
        if value is UNSET:
            continue
        if name == "api_key":
            draft.api_key = value
            draft.keeps_key = False
        elif name == "provider_specific_data":
            draft.provider_specific_data = dict(value)
        else:
            setattr(draft, name, value)


def _duplicate(draft: ConnectionDraft) -> ApiError:
    return ApiError(
        409,
        f"a connection named {draft.name!r} already exists for provider {draft.provider!r}",
        "conflict",
        [{"field": "name", "message": "already exists for this provider"}],
    )


class ProvidersController(Controller):
    path = "/api/providers"
    tags = ["providers"]

    @get("/")
    async def list_providers(
        self,
        request: Request[Any, Any, Any],
        provider: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> ProviderList:
        """List connections, secrets masked."""
        state = control_state(request)
        rows = await queries.fetch_page(state.pool, provider, limit, offset)
        return ProviderList(providers=[_view(r, state) for r in rows], total=await queries.count(state.pool, provider))

    @post("/", status_code=201)
    async def create_provider(self, request: Request[Any, Any, Any], data: JSONBody[ProviderCreate]) -> ProviderView:
        """Create a connection; the API key is encrypted at rest and masked in the answer."""
        state = control_state(request)
        draft = validate_draft(ConnectionDraft(**structs.asdict(data)), state.settings.allow_private_upstreams)
        ident = new_id()
        try:
            async with state.writer.transaction() as conn:
                row = await queries.insert(conn, ident, _columns(draft, state, ident, None))
                view = _view(row, state)
                await audit.record(
                    conn, actor_of(request), "provider.created", "provider", ident, None, msgspec.to_builtins(view)
                )
        except asyncpg.UniqueViolationError:
            raise _duplicate(draft) from None
        return view

    @get("/{provider_id:str}")
    async def get_provider(self, request: Request[Any, Any, Any], provider_id: FromPath[str]) -> ProviderView:
        state = control_state(request)
        row = await queries.fetch(state.pool, parse_uuid(provider_id, "provider connection"))
        if row is None:
            raise NotFoundError("provider connection")
        return _view(row, state)

    @put("/{provider_id:str}")
    async def update_provider(
        self, request: Request[Any, Any, Any], provider_id: FromPath[str], data: JSONBody[ProviderUpdate]
    ) -> ProviderView:
        """Change the fields present in the body."""
        state = control_state(request)
        ident = parse_uuid(provider_id, "provider connection")
        try:
            async with state.writer.transaction() as conn:
                row = await queries.fetch(conn, ident, for_update=True)
                if row is None:
                    raise NotFoundError("provider connection")
                before = _view(row, state)
                draft = _draft_from_row(row)
                _apply(draft, data)
                validate_draft(draft, state.settings.allow_private_upstreams)
                updated = await queries.update(
                    conn, ident, _columns(draft, state, ident, row["api_key_enc"], row["auth_type"])
                )
                view = _view(updated, state)
                await audit.record(
                    conn,
                    actor_of(request),
                    "provider.updated",
                    "provider",
                    ident,
                    msgspec.to_builtins(before),
                    msgspec.to_builtins(view),
                )
        except asyncpg.UniqueViolationError:
            raise ApiError(409, "another connection of this provider has that name", "conflict") from None
        return view

    @delete("/{provider_id:str}", status_code=200)
    async def delete_provider(self, request: Request[Any, Any, Any], provider_id: FromPath[str]) -> Deleted:
        state = control_state(request)
        ident = parse_uuid(provider_id, "provider connection")
        async with state.writer.transaction() as conn:
            row = await queries.fetch(conn, ident, for_update=True)
            if row is None:
                raise NotFoundError("provider connection")
            await queries.delete(conn, ident)
            await audit.record(
                conn, actor_of(request), "provider.deleted", "provider", ident, msgspec.to_builtins(_view(row, state))
            )
        return Deleted(id=ident, deleted=True)
