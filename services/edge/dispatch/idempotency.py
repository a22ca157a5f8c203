"""Idempotent requests: `Idempotency-Key` (else `X-Request-Id`), scoped to the API key.

The first request claims the key (a lease, renewed while it runs) and stores its answer when it
succeeds; a duplicate that arrives meanwhile waits for that answer (up to `wait_ms`, then 409),
one with another body gets 422, and a later one within `window_ms` gets the stored answer again,
status, headers and body, a stream as the same stream, marked `X-OmniRoute-Idempotent: true`.
Failures are not stored: the claim is released, so a retry runs again (nothing was billed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Mapping

from services.edge.dispatch.fleet import Fleet, Trips
from shared import metrics
from shared.canonical.errors import BadRequest, Conflict, Unprocessable
from shared.config.resilience import IdempotencySettings
from shared.kv.batch import Batch
from shared.kv.idempotency import Claim, StoredResponse

__all__ = ["REPLAY_HEADER", "IdempotencyGate"]

log = logging.getLogger(__name__)

REPLAY_HEADER = "X-OmniRoute-Idempotent"
_LEASE_MS = 30_000
_RENEW_EVERY = _LEASE_MS / 3 / 1000
_MAX_KEY = 255
_POLL_FIRST, _POLL_MAX = 0.02, 0.25


def _key_of(headers: Mapping[str, str]) -> str | None:
    raw = headers.get("idempotency-key") or headers.get("x-request-id")
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > _MAX_KEY or not key.isprintable():
        raise BadRequest(f"The idempotency key must be 1 to {_MAX_KEY} printable characters.", param="Idempotency-Key")
    return key


class IdempotencyGate:
    __slots__ = ("_fleet", "_lifetime", "_owner", "_renewer", "_scope", "_settings", "_trips", "fingerprint")

    def __init__(
        self,
        fleet: Fleet,
        trips: Trips,
        settings: IdempotencySettings,
        scope: str,
        fingerprint: str,
        owner: str,
        lifetime: float,
    ) -> None:
        self._fleet, self._trips, self._settings = fleet, trips, settings
        self._scope, self.fingerprint, self._owner = scope, fingerprint, owner
        self._lifetime = lifetime
        self._renewer: asyncio.Task[None] | None = None

    @classmethod
    def of(
        cls,
        fleet: Fleet,
        trips: Trips,
        settings: IdempotencySettings,
        headers: Mapping[str, str],
        *,
        key_id: str,
        target: str,
        body: bytes,
        owner: str,
        lifetime: float,
    ) -> IdempotencyGate | None:
        """The gate for a request that carries a key; None for one that does not. `target`: method,
        path, query; `lifetime`: the longest the claim is kept alive (seconds)."""
        key = _key_of(headers)
        if key is None:
            return None
        digest = hashlib.sha256(target.encode() + b"\n" + body).hexdigest()
        return cls(fleet, trips, settings, f"{key_id}\n{key}", digest, owner, lifetime)

    async def enter(self) -> StoredResponse | None:
        """Claim the key (None: go ahead and store the answer later), or the earlier answer to replay."""
        waited_until = time.monotonic() + self._settings.wait_ms / 1000
        pause = _POLL_FIRST
        while True:
            claim = await self._claim()
            if claim.outcome == "claimed":
                metrics.IDEMPOTENCY.labels("claimed").inc()
                self._renewer = asyncio.get_running_loop().create_task(self._renew())
                return None
            if claim.outcome == "mismatch":
                metrics.IDEMPOTENCY.labels("mismatch").inc()
                raise Unprocessable(
                    "This idempotency key was already used with a different request.",
                    code="idempotency_key_reused",
                    param="Idempotency-Key",
                )
            if claim.outcome == "done" and claim.response is not None:
                metrics.IDEMPOTENCY.labels("replayed").inc()
                return claim.response
            # in flight elsewhere: wait for its answer, bounded
            while True:
                if time.monotonic() + pause > waited_until:
                    metrics.IDEMPOTENCY.labels("conflict").inc()
                    raise Conflict(
                        "A request with this idempotency key is still in progress.",
                        code="idempotency_in_flight",
                        headers={"Retry-After": "1"},
                    )
                await asyncio.sleep(pause)
                pause = min(_POLL_MAX, pause * 2)
                seen = await self._read()
                if seen is None:
                    break  # released or lapsed: claim it again
                if seen.outcome == "done" and seen.response is not None:
                    metrics.IDEMPOTENCY.labels("replayed").inc()
                    return seen.response

    async def _claim(self) -> Claim:
        slot = await self._fleet.run(
            lambda b, _: self._fleet.idempotency.claim(b, self._scope, self.fingerprint, self._owner, _LEASE_MS),
            self._trips,
            "idempotency",
        )
        return slot.value

    async def _read(self) -> Claim | None:
        slot = await self._fleet.run(
            lambda b, _: self._fleet.idempotency.read(b, self._scope), self._trips, "idempotency"
        )
        return slot.value

    async def _renew(self) -> None:
        """Keep the lease while the first request runs (a long stream outlives one lease), but not
        past the request deadline: a request that never settles (a stream nobody read) lets go."""
        until = time.monotonic() + self._lifetime
        while time.monotonic() + _RENEW_EVERY < until:
            await asyncio.sleep(_RENEW_EVERY)
            try:
                await self._fleet.run(
                    lambda b, _: self._fleet.idempotency.renew(b, self._scope, self._owner, _LEASE_MS),
                    Trips(),
                    "idempotency",
                )
            except Exception:
                log.warning("idempotency lease renewal failed", exc_info=True)

    def _stop_renewing(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None

    def complete(self, batch: Batch, response: StoredResponse) -> None:
        """Queue storing the answer (settlement); too large an answer is released instead."""
        self._stop_renewing()
        if len(response.body) > self._settings.max_stored_bytes:
            log.warning("idempotent answer too large to store; released", extra={"bytes": len(response.body)})
            self._fleet.idempotency.release(batch, self._scope, self._owner)
            return
        keep = max(1, self._settings.window_ms)
        self._fleet.idempotency.complete(batch, self._scope, self._owner, response, keep)

    def release(self, batch: Batch) -> None:
        self._stop_renewing()
        self._fleet.idempotency.release(batch, self._scope, self._owner)

    async def abandon(self) -> None:
        """Release at once, outside any settlement (the request failed before it had one)."""
        with contextlib.suppress(Exception):
            await self._fleet.run(lambda b, _: self.release(b), self._trips, "idempotency")
