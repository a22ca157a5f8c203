"""One sync: pull the remote bundle, merge per record, apply the winners here, push the merge.

The push is conditional on the remote being unchanged since the pull (ETag or revision); when
another writer got there first the whole round repeats (pull-merge-push), a few times at most.
The bundle version only grows: a push carries max(remote, local) + 1. A Redis lease keeps two
replicas (or the schedule and "sync now") from syncing at the same time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.control import audit
from services.control.state import ControlState
from services.control.sync.config import SyncConfig, load_config, sync_cipher
from services.control.sync.records import TABLE_NAMES, ApplyResult, apply_records, dump_records
from services.control.sync.remotes import PeerRemote, Remote, RemoteConflict, RemoteError, S3Remote
from shared.kv.lock import Lease, LeaseTimeout
from shared.sync.bundle import BundleError, open_bundle, seal_bundle
from shared.sync.merge import Record, merge, record_from_json
from shared.sync.sigv4 import Credentials

__all__ = ["SyncFailed", "SyncOutcome", "decode_records", "receive_bundle", "sync_now"]

log = logging.getLogger(__name__)

_LEASE_KEY = "omniroute:sync:lease"
_ROUNDS = 4


class SyncFailed(Exception):
    """A sync could not finish; `code` is `bundle_refused` (the remote's bundle fails to open or
    validate), `remote_error`, `conflict` (the remote kept changing) or `busy`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class SyncOutcome:
    bundle_version: int
    pushed: bool
    applied: ApplyResult = field(default_factory=ApplyResult)


def decode_records(blob: bytes, passphrase: str) -> tuple[int, list[Record]]:
    """Open and validate a bundle; BundleError when it does not authenticate or is malformed."""
    opened = open_bundle(blob, passphrase)
    try:
        records = [record_from_json(raw, TABLE_NAMES) for raw in opened.records]
    except ValueError as exc:
        raise BundleError(f"the bundle holds an invalid record: {exc}") from None
    return opened.version, records


def remote_for(config: SyncConfig, allow_private: bool) -> Remote:
    public = config.remote_public
    if config.remote_kind == "s3":
        creds = Credentials(str(public["accessKeyId"]), config.remote_secret or "", str(public["region"]))
        return S3Remote(
            str(public["endpoint"]),
            str(public["bucket"]),
            str(public.get("prefix", "")),
            creds,
            allow_private=allow_private,
        )
    if config.remote_kind == "peer":
        return PeerRemote(str(public["url"]), config.remote_secret or "", allow_private=allow_private)
    raise SyncFailed("not_configured", "no remote is configured")


async def _apply(
    state: ControlState, winners: list[Record], actor: audit.Actor, action: str, extra: dict[str, Any]
) -> ApplyResult:
    async with state.writer.transaction() as conn:
        result = await apply_records(conn, winners, state.cipher)
        await audit.record(
            conn,
            actor,
            action,
            "sync",
            None,
            None,
            {**extra, "written": result.written, "deleted": result.deleted, "skipped": result.skipped[:50]},
        )
    return result


async def _note(state: ControlState, **fields: Any) -> None:
    # Column names come from this module's calls, never from input.
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    query = f"UPDATE sync_state SET {sets}, updated_at = now() WHERE id = $1"  # noqa: S608
    await state.pool.execute(query, 1, *fields.values())


async def _round(
    state: ControlState, config: SyncConfig, remote: Remote, actor: audit.Actor, outcome: SyncOutcome
) -> None:
    fetched = await remote.fetch()
    remote_version, remote_records = 0, list[Record]()
    if fetched.blob is not None:
        try:
            remote_version, remote_records = decode_records(fetched.blob, config.passphrase)
        except BundleError as exc:
            raise SyncFailed("bundle_refused", f"the remote bundle was refused: {exc}") from None
    await _note(state, last_pull_at=_now(), remote_version=remote_version)
    async with state.pool.acquire() as conn, conn.transaction():
        local = await dump_records(conn, state.cipher)
    merged = merge(local, remote_records)
    if merged.to_apply:
        applied = await _apply(state, merged.to_apply, actor, "sync.pull", {"remoteVersion": remote_version})
        outcome.applied.written += applied.written
        outcome.applied.deleted += applied.deleted
        outcome.applied.skipped.extend(applied.skipped)
    in_sync = fetched.blob is not None and {r.digest() for r in merged.records} == {r.digest() for r in remote_records}
    if in_sync:
        outcome.bundle_version = remote_version
        return
    version = max(remote_version, config.bundle_version) + 1
    blob = seal_bundle([r.to_json() for r in merged.records], version, config.passphrase)
    await remote.store(blob, fetched.precondition)
    outcome.bundle_version, outcome.pushed = version, True
    await _note(state, last_push_at=_now(), remote_version=version)


def _now() -> datetime:
    return datetime.now(UTC)


async def sync_now(state: ControlState, actor: audit.Actor) -> SyncOutcome:
    """Run one sync; records the outcome (or the error) in sync_state. Raises SyncFailed."""
    config = await load_config(state.pool, sync_cipher(state.settings.storage_encryption_key or ""))
    if config is None:
        raise SyncFailed("not_configured", "sync is not initialized")
    remote = remote_for(config, state.settings.allow_private_upstreams)
    outcome = SyncOutcome(bundle_version=config.bundle_version, pushed=False)
    try:
        async with Lease(state.redis).hold(_LEASE_KEY, lease_ms=120_000, wait_ms=30_000):
            for _ in range(_ROUNDS):
                try:
                    await _round(state, config, remote, actor, outcome)
                    break
                except RemoteConflict:
                    continue
            else:
                raise SyncFailed("conflict", "the remote kept changing; try again")
    except LeaseTimeout:
        raise SyncFailed("busy", "another sync is running") from None
    except RemoteError as exc:
        await _note(state, last_error=str(exc)[:500], last_sync_at=_now())
        raise SyncFailed("remote_error", str(exc)) from None
    except SyncFailed as exc:
        await _note(state, last_error=exc.message[:500], last_sync_at=_now())
        raise
    await _note(state, bundle_version=outcome.bundle_version, last_error=None, last_sync_at=_now())
    return outcome


async def receive_bundle(
    state: ControlState, config: SyncConfig, blob: bytes, if_revision: str, actor: audit.Actor
) -> tuple[int, ApplyResult]:
    """A peer's PUT: check the revision, merge the bundle into this install, remember its version.

    Raises BundleError (refused bundle) or RemoteConflict (this side changed since the peer read it).
    """
    version, records = decode_records(blob, config.passphrase)
    async with state.writer.transaction() as conn:
        # The writer bumped config_version first (and holds its row lock): the revision the peer
        # read names the version before this transaction.
        current = await conn.fetchrow(
            "SELECT s.bundle_version, c.version - 1 AS config_version FROM sync_state s, config_version c"
            " WHERE s.id = 1 AND c.id = 1 FOR UPDATE OF s"
        )
        assert current is not None
        if if_revision != revision_of(current["bundle_version"], current["config_version"]):
            raise RemoteConflict("this install changed since the peer read it")
        if version <= current["bundle_version"]:
            raise BundleError(f"the bundle version {version} is not newer than {current['bundle_version']}")
        local = await dump_records(conn, state.cipher)
        merged = merge(local, records)
        result = await apply_records(conn, merged.to_apply, state.cipher)
        await conn.execute(
            "UPDATE sync_state SET bundle_version = $1, remote_version = $1, last_pull_at = now(), updated_at = now()"
            " WHERE id = 1",
            version,
        )
        await audit.record(
            conn,
            actor,
            "sync.receive",
            "sync",
            None,
            None,
            {
                "bundleVersion": version,
                "written": result.written,
                "deleted": result.deleted,
                "skipped": result.skipped[:50],
            },
        )
    return version, result


def revision_of(bundle_version: int, config_version: int) -> str:
    return f"{bundle_version}.{config_version}"
