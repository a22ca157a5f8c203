"""Wire shapes of /api/oauth/{provider}/{action} (camelCase on the wire; tokens never appear)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = [
    "AuthorizeRequest",
    "AuthorizeStarted",
    "CallbackRequest",
    "ConnectionRef",
    "DeviceCodeStarted",
    "DevicePoll",
    "OAuthConnectionView",
    "PollAnswer",
    "RefreshAnswer",
    "RevokeAnswer",
]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
Ident = Annotated[str, Meta(min_length=1, max_length=64)]
Opaque = Annotated[str, Meta(min_length=1, max_length=4096)]


class AuthorizeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """Start a flow. `connectionId` re-authorises that connection; otherwise `name` (default
    "<provider> account") names the connection to create, or to re-authorise if it exists."""

    name: Name | None = None
    connection_id: Ident | None = None
    base_url: Url | None = None


class CallbackRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    code: Opaque
    state: Opaque


class DevicePoll(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    flow_id: Opaque


class ConnectionRef(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    connection_id: Ident


class AuthorizeStarted(msgspec.Struct, kw_only=True, rename="camel"):
    auth_url: str
    state: str
    redirect_uri: str
    expires_in: int


class DeviceCodeStarted(msgspec.Struct, kw_only=True, rename="camel"):
    flow_id: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    interval: int
    expires_in: int


class OAuthConnectionView(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    provider: str
    oauth_provider: str | None
    name: str
    auth_type: str
    is_active: bool
    base_url: str | None
    access_token: str | None  # masked
    has_refresh_token: bool
    expires_at: datetime | None
    scope: str | None
    token_version: int


class PollAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    status: str  # "pending" | "slow_down" | "complete"
    interval: int | None = None
    retry_after: int | None = None
    connection: OAuthConnectionView | None = None


class RefreshAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    refreshed: bool  # False: another caller's refresh was already in place, and is what you see
    connection: OAuthConnectionView


class RevokeAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    revoked_upstream: bool
    upstream_error: str | None
    connection: OAuthConnectionView
