"""/api/sync/initialize and /api/sync/cloud: set up, inspect and run cloud sync (admin only)."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from msgspec import UNSET

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import ApiError, InvalidField
from services.control.state import ControlState
from services.control.sync.config import (
    PASSPHRASE_AAD,
    REMOTE_SECRET_AAD,
    SyncConfig,
    hash_cloud_token,
    load_config,
    sync_cipher,
)
from services.control.sync.engine import SyncFailed, SyncOutcome, sync_now
from services.control.sync.schemas import CloudAction, RemoteIn, RemoteView, SyncInitialize, SyncStatus
from shared.netguard import UnsafeURL, check_url

__all__ = ["SyncController"]

CLOUD_TOKEN_PREFIX = "omni-sync-"
_MASK = "********"
_FAILURE_STATUS = {"not_configured": 409, "busy": 409, "conflict": 409, "bundle_refused": 502, "remote_error": 502}


def _url(field: str, value: str, allow_private: bool) -> str:
    try:
        return check_url(value, allow_private=allow_private)
    except UnsafeURL as exc:
        raise InvalidField(field, str(exc)) from None


def _need(remote: RemoteIn, name: str, camel: str) -> str:
    value = getattr(remote, name)
    if value is UNSET:
        raise InvalidField(f"remote.{camel}", f"is required when kind is {remote.kind}")
    if any(ch < " " for ch in value):
        raise InvalidField(f"remote.{camel}", "must not contain control characters")
    return str(value)


_S3_FIELDS = {"endpoint", "bucket", "prefix", "region", "access_key_id", "secret_access_key"}
_PEER_FIELDS = {"url", "token"}
_CAMEL = {"access_key_id": "accessKeyId", "secret_access_key": "secretAccessKey"}


def _remote(remote: RemoteIn, allow_private: bool) -> tuple[dict[str, Any], str | None]:
    """(public settings, secret) of a remote; 400 naming the field on bad input."""
    allowed = {"s3": _S3_FIELDS, "peer": _PEER_FIELDS, "none": set()}[remote.kind]
    for name in _S3_FIELDS | _PEER_FIELDS:
        if name not in allowed and getattr(remote, name) is not UNSET:
            raise InvalidField(f"remote.{_CAMEL.get(name, name)}", f"does not apply when kind is {remote.kind}")
    if remote.kind == "s3":
        bucket = _need(remote, "bucket", "bucket")
        if not bucket.replace("-", "").replace(".", "").isalnum() or not bucket.isascii() or len(bucket) > 63:
            raise InvalidField("remote.bucket", "must be an S3 bucket name (letters, digits, '-', '.')")
        region = _need(remote, "region", "region")
        if not region.replace("-", "").isalnum() or not region.isascii() or len(region) > 64:
            raise InvalidField("remote.region", "must be a region name such as us-east-1")
        prefix = "" if remote.prefix is UNSET else str(remote.prefix).strip("/")
        if any(ch < " " for ch in prefix) or ".." in prefix.split("/"):
            raise InvalidField("remote.prefix", "must be a plain object key prefix")
        public = {
            "endpoint": _url("remote.endpoint", _need(remote, "endpoint", "endpoint"), allow_private),
            "bucket": bucket,
            "prefix": prefix,
            "region": region,
            "accessKeyId": _need(remote, "access_key_id", "accessKeyId"),
        }
        return public, _need(remote, "secret_access_key", "secretAccessKey")
    if remote.kind == "peer":
        return {"url": _url("remote.url", _need(remote, "url", "url"), allow_private)}, _need(remote, "token", "token")
    return {}, None


def _view(config: SyncConfig | None) -> RemoteView | None:
    if config is None:
        return None
    public = config.remote_public
    return RemoteView(
        kind=config.remote_kind,
        endpoint=public.get("endpoint"),
        bucket=public.get("bucket"),
        prefix=public.get("prefix"),
        region=public.get("region"),
        access_key_id=public.get("accessKeyId"),
        url=public.get("url"),
        secret=_MASK if config.remote_secret else None,
    )


async def status_of(state: ControlState, **extra: Any) -> SyncStatus:
    config = await load_config(state.pool, sync_cipher(state.settings.storage_encryption_key or ""))
    local_version = await state.pool.fetchval("SELECT version FROM config_version WHERE id = 1")
    return SyncStatus(
        initialized=config is not None,
        enabled=config.enabled if config else False,
        remote=_view(config),
        interval_seconds=config.interval_seconds if config else None,
        local_version=int(local_version or 0),
        bundle_version=config.bundle_version if config else 0,
        remote_version=config.remote_version if config else None,
        last_push_at=config.last_push_at if config else None,
        last_pull_at=config.last_pull_at if config else None,
        last_sync_at=config.last_sync_at if config else None,
        last_error=config.last_error if config else None,
        cloud_token_set=bool(config and config.cloud_token_hash),
        **extra,
    )


def _outcome_fields(outcome: SyncOutcome) -> dict[str, Any]:
    applied = outcome.applied
    return {"applied": applied.written + applied.deleted, "skipped": applied.skipped, "pushed": outcome.pushed}


class SyncController(Controller):
    path = "/api/sync"
    tags = ["sync"]

    @post("/initialize", status_code=200)
    async def initialize(self, request: Request[Any, Any, Any], data: JSONBody[SyncInitialize]) -> SyncStatus:
        """Set the remote and the bundle passphrase. The first call (or `rotateCloudToken`) answers a
        new `cloudToken`, which peers present to this install's /api/cloud/*; it is shown once."""
        state = control_state(request)
        cipher = sync_cipher(state.settings.storage_encryption_key or "")
        public, secret = _remote(data.remote, state.settings.allow_private_upstreams)
        async with state.pool.acquire() as conn, conn.transaction():
            current = await load_config(conn, cipher, for_update=True)
            if current is None and data.passphrase is UNSET:
                raise InvalidField("passphrase", "is required the first time sync is initialized")
            passphrase = data.passphrase if data.passphrase is not UNSET else current.passphrase  # type: ignore[union-attr]
            token = None
            if current is None or current.cloud_token_hash is None or data.rotate_cloud_token:
                token = CLOUD_TOKEN_PREFIX + secrets.token_urlsafe(32)
            interval = (
                data.interval_seconds
                if data.interval_seconds is not UNSET
                else (current.interval_seconds if current else 300)
            )
            await conn.execute(
                """INSERT INTO sync_state (id, remote_kind, remote_public, remote_secret_enc, passphrase_enc,
                                           cloud_token_hash, interval_seconds)
                   VALUES (1, $1, $2, $3, $4, $5, $6)
                   ON CONFLICT (id) DO UPDATE SET remote_kind = $1, remote_public = $2, remote_secret_enc = $3,
                       passphrase_enc = $4, cloud_token_hash = COALESCE($5, sync_state.cloud_token_hash),
                       interval_seconds = $6, enabled = sync_state.enabled AND $1 <> 'none',
                       last_error = NULL, updated_at = now()""",
                data.remote.kind,
                public,
                cipher.encrypt_text(secret, REMOTE_SECRET_AAD) if secret else None,
                cipher.encrypt_text(passphrase, PASSPHRASE_AAD),
                hash_cloud_token(token) if token else None,
                interval,
            )
            after = {"remote": {"kind": data.remote.kind, **public}, "intervalSeconds": interval}
            after["cloudTokenRotated"] = token is not None
            after["passphraseChanged"] = data.passphrase is not UNSET
            await audit.record(conn, actor_of(request), "sync.initialized", "sync", None, None, after)
        return await status_of(state, cloud_token=token)

    @get("/cloud")
    async def cloud_status(self, request: Request[Any, Any, Any]) -> SyncStatus:
        """Sync status: enabled, remote (secret masked), versions, last push/pull, last error."""
        return await status_of(control_state(request))

    @post("/cloud", status_code=200)
    async def cloud_action(self, request: Request[Any, Any, Any], data: JSONBody[CloudAction]) -> SyncStatus:
        """`enable` (periodic sync on), `sync` (sync now; 502 when the remote fails or its bundle is
        refused, 409 when another sync runs), `disable`."""
        state = control_state(request)
        config = await load_config(state.pool, sync_cipher(state.settings.storage_encryption_key or ""))
        if config is None:
            raise ApiError(409, "sync is not initialized: POST /api/sync/initialize first", "sync_not_initialized")
        if data.action == "sync":
            if config.remote_kind == "none":
                raise ApiError(409, "no remote is configured (kind none)", "sync_no_remote")
            try:
                outcome = await sync_now(state, actor_of(request))
            except SyncFailed as exc:
                raise ApiError(_FAILURE_STATUS.get(exc.code, 502), exc.message, exc.code) from None
            return await status_of(state, **_outcome_fields(outcome))
        if data.action == "enable" and config.remote_kind == "none":
            raise ApiError(409, "no remote is configured (kind none)", "sync_no_remote")
        async with state.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE sync_state SET enabled = $1, updated_at = now() WHERE id = 1", data.action == "enable"
            )
            await audit.record(
                conn,
                actor_of(request),
                f"sync.{data.action}d",
                "sync",
                None,
                {"enabled": config.enabled},
                {"enabled": data.action == "enable"},
            )
        return await status_of(state)
