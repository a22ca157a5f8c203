"""Request and answer bodies of /api/sync/* and /api/cloud/*."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ["CloudAction", "CloudBundle", "CloudPut", "CloudReceived", "RemoteIn", "SyncInitialize", "SyncStatus"]

Text = Annotated[str, Meta(min_length=1, max_length=2048)]


class RemoteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """`kind` s3: endpoint, bucket, region, access_key_id, secret_access_key (prefix optional);
    peer: url and token (the peer's sync token); none: this install only receives."""

    kind: Literal["s3", "peer", "none"]
    endpoint: Text | UnsetType = UNSET
    bucket: Text | UnsetType = UNSET
    prefix: Annotated[str, Meta(max_length=512)] | UnsetType = UNSET
    region: Text | UnsetType = UNSET
    access_key_id: Text | UnsetType = UNSET
    secret_access_key: Text | UnsetType = UNSET
    url: Text | UnsetType = UNSET
    token: Text | UnsetType = UNSET


class SyncInitialize(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    remote: RemoteIn
    passphrase: Annotated[str, Meta(min_length=16, max_length=1024)] | UnsetType = UNSET
    interval_seconds: Annotated[int, Meta(ge=30, le=86400)] | UnsetType = UNSET
    rotate_cloud_token: bool = False


class RemoteView(msgspec.Struct, kw_only=True, rename="camel"):
    kind: str
    endpoint: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    url: str | None = None
    secret: str | None = None  # always masked ("********") when set


class SyncStatus(msgspec.Struct, kw_only=True, rename="camel"):
    initialized: bool
    enabled: bool
    remote: RemoteView | None
    interval_seconds: int | None
    local_version: int
    bundle_version: int
    remote_version: int | None
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_sync_at: datetime | None
    last_error: str | None
    cloud_token_set: bool
    cloud_token: str | None = None  # only in the answer that created it; never stored in clear
    applied: int | None = None  # records written or deleted here by the sync just run
    skipped: list[str] | None = None
    pushed: bool | None = None


class CloudAction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    action: Literal["enable", "sync", "disable"]


class CloudBundle(msgspec.Struct, kw_only=True):
    version: int
    revision: str  # send back as `ifRevision` to PUT
    bundle: str  # base64 of the sealed bundle


class CloudPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    bundle: Annotated[str, Meta(min_length=1, max_length=48 * 1024 * 1024)]
    if_revision: Annotated[str, Meta(max_length=64)]


class CloudReceived(msgspec.Struct, kw_only=True, rename="camel"):
    version: int
    written: int
    deleted: int
    skipped: list[str]
