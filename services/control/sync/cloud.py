"""/api/cloud/*: the receiving side, when another OmniRoute control plane syncs with this one.

Authenticated by this install's sync token only (`Authorization: Bearer omni-sync-...`, created by
/api/sync/initialize, stored as a SHA-256, compared in constant time). Neither the admin cookie
nor admin API keys are accepted: the token grants exactly this exchange, and it is useless without
the bundle passphrase, since a bundle that does not authenticate is refused.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from litestar import Controller, Request, get, put
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody

from services.control.audit import Actor
from services.control.context import control_state, request_id_of
from services.control.errors import ApiError, InvalidField
from services.control.sync.config import SyncConfig, cloud_token_matches, load_config, sync_cipher
from services.control.sync.engine import receive_bundle, revision_of
from services.control.sync.records import dump_records
from services.control.sync.remotes import RemoteConflict
from services.control.sync.schemas import CloudBundle, CloudPut, CloudReceived
from shared.sync.bundle import BundleError, seal_bundle

__all__ = ["CloudController", "cloud_guard"]

_CONFIG_KEY = "sync_config"


async def cloud_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    state = control_state(connection)
    header = connection.headers.get("authorization") or ""
    scheme, _sep, token = header.partition(" ")
    config = await load_config(state.pool, sync_cipher(state.settings.storage_encryption_key or ""))
    if scheme.lower() != "bearer" or not cloud_token_matches(config, token.strip()):
        raise NotAuthorizedException("a valid sync token is required (Authorization: Bearer omni-sync-...)")
    connection.state[_CONFIG_KEY] = config
    client = connection.client.host if connection.client else None
    connection.state["actor"] = Actor(name="sync-peer", request_id=request_id_of(connection), client_ip=client)


def _config(request: Request[Any, Any, Any]) -> SyncConfig:
    config: SyncConfig = request.state[_CONFIG_KEY]
    return config


class CloudController(Controller):
    path = "/api/cloud"
    tags = ["sync"]
    guards = [cloud_guard]

    @get("/bundle")
    async def get_bundle(self, request: Request[Any, Any, Any]) -> CloudBundle:
        """This install's configuration as a sealed bundle, with the revision a PUT must name."""
        state = control_state(request)
        config = _config(request)
        async with state.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            current = await conn.fetchrow(
                "SELECT s.bundle_version, c.version FROM sync_state s, config_version c WHERE s.id = 1 AND c.id = 1"
            )
            assert current is not None
            records = await dump_records(conn, state.cipher)
        version = int(current["bundle_version"])
        blob = seal_bundle([r.to_json() for r in records], version, config.passphrase)
        return CloudBundle(
            version=version,
            revision=revision_of(version, int(current["version"])),
            bundle=base64.b64encode(blob).decode(),
        )

    @put("/bundle")
    async def put_bundle(self, request: Request[Any, Any, Any], data: JSONBody[CloudPut]) -> CloudReceived:
        """Merge a peer's bundle into this install (per-record, by version). 409 when this install
        changed since `ifRevision` was read (pull, merge and push again); 400 when the bundle is
        malformed, does not authenticate or is not newer than the last one received."""
        state = control_state(request)
        try:
            blob = base64.b64decode(data.bundle, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidField("bundle", "must be base64") from None
        actor: Actor = request.state["actor"]
        try:
            version, result = await receive_bundle(state, _config(request), blob, data.if_revision, actor)
        except BundleError as exc:
            raise ApiError(400, f"bundle: {exc}", "bundle_refused") from None
        except RemoteConflict:
            raise ApiError(
                409, "this install changed since ifRevision was read; GET the bundle again", "conflict"
            ) from None
        return CloudReceived(version=version, written=result.written, deleted=result.deleted, skipped=result.skipped)
