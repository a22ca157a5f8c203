"""Where bundles go: an S3-compatible bucket or another OmniRoute control plane (a peer).

Both offer the same two calls with optimistic concurrency: `fetch` returns the current bundle and
a precondition token (the S3 ETag, or the peer's revision); `store` writes only if the remote is
still at that token (S3 If-Match / If-None-Match: *, peer `ifRevision`), else RemoteConflict.
All traffic goes through the guarded outbound session; the URL was vetted at initialize and is
vetted again here, and every socket is vetted as it opens. Errors never echo the remote's body.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from services.outbound.session import outbound_session
from shared import jsonx
from shared.netguard import UnsafeURL, check_url
from shared.sync.bundle import MAX_BUNDLE_BYTES
from shared.sync.sigv4 import Credentials, object_path, sign_headers

__all__ = ["PeerRemote", "Remote", "RemoteConflict", "RemoteError", "RemoteState", "S3Remote"]

OBJECT_NAME = "omniroute-config.bundle"
_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


class RemoteError(Exception):
    """The remote could not be reached or refused the call; the message is safe to show."""


class RemoteConflict(RemoteError):
    """The remote changed since it was fetched (412 from S3, 409 from a peer)."""


@dataclass(frozen=True, slots=True)
class RemoteState:
    blob: bytes | None  # None: the remote holds no bundle yet
    precondition: str | None


class Remote(Protocol):
    async def fetch(self) -> RemoteState: ...
    async def store(self, blob: bytes, precondition: str | None) -> None: ...


async def _call(
    method: str, url: str, headers: dict[str, str], body: bytes, *, allow_private: bool
) -> tuple[int, dict[str, str], bytes]:
    try:
        check_url(url, allow_private=allow_private)
    except UnsafeURL as exc:
        raise RemoteError(f"the remote URL is refused: {exc}") from None
    try:
        async with (
            asyncio.timeout(60),
            outbound_session(allow_private=allow_private) as out,
            out.session.request(
                method, url, data=body or None, timeout=_TIMEOUT, **out.request_options(url, headers)
            ) as response,
        ):
            raw = await response.content.read(MAX_BUNDLE_BYTES * 2 + 1)
            if len(raw) > MAX_BUNDLE_BYTES * 2:
                raise RemoteError("the remote answered more than a bundle can hold")
            return response.status, {k.lower(): v for k, v in response.headers.items()}, raw
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise RemoteError(f"the remote is unreachable ({type(exc).__name__})") from None


class S3Remote:
    def __init__(self, endpoint: str, bucket: str, prefix: str, creds: Credentials, *, allow_private: bool) -> None:
        self._url = f"{endpoint.rstrip('/')}/{bucket}/{object_path(prefix, OBJECT_NAME)}"
        self._creds = creds
        self._allow_private = allow_private

    async def _signed(self, method: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        sent = sign_headers(self._creds, method, self._url, body, headers)
        sent.pop("host", None)  # aiohttp sends the same Host itself
        return await _call(method, self._url, sent, body, allow_private=self._allow_private)

    async def fetch(self) -> RemoteState:
        status, headers, raw = await self._signed("GET", b"", {})
        if status == 404:
            return RemoteState(None, None)
        if status != 200:
            raise RemoteError(f"the object store answered HTTP {status} to GET")
        return RemoteState(raw, headers.get("etag"))

    async def store(self, blob: bytes, precondition: str | None) -> None:
        condition = {"If-Match": precondition} if precondition else {"If-None-Match": "*"}
        status, _, _ = await self._signed("PUT", blob, {"content-type": "application/json", **condition})
        if status in (409, 412):
            raise RemoteConflict("the object changed since it was read")
        if not 200 <= status < 300:
            raise RemoteError(f"the object store answered HTTP {status} to PUT")


class PeerRemote:
    def __init__(self, url: str, token: str, *, allow_private: bool) -> None:
        self._url = f"{url.rstrip('/')}/api/cloud/bundle"
        self._token = token
        self._allow_private = allow_private

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    async def fetch(self) -> RemoteState:
        status, _, raw = await _call("GET", self._url, self._headers(), b"", allow_private=self._allow_private)
        if status != 200:
            raise RemoteError(f"the peer answered HTTP {status} to GET /api/cloud/bundle")
        try:
            body = jsonx.loads(raw)
            revision = body["revision"]
            bundle = body["bundle"]
            blob = base64.b64decode(bundle, validate=True) if bundle is not None else None
        except (ValueError, TypeError, KeyError):
            raise RemoteError("the peer's answer is not a bundle") from None
        if not isinstance(revision, str):
            raise RemoteError("the peer's answer has no revision")
        return RemoteState(blob, revision)

    async def store(self, blob: bytes, precondition: str | None) -> None:
        body = jsonx.dumps({"bundle": base64.b64encode(blob).decode(), "ifRevision": precondition or ""})
        headers = {**self._headers(), "Content-Type": "application/json"}
        status, _, _ = await _call("PUT", self._url, headers, body, allow_private=self._allow_private)
        if status == 409:
            raise RemoteConflict("the peer changed since it was read")
        if not 200 <= status < 300:
            raise RemoteError(f"the peer answered HTTP {status} to PUT /api/cloud/bundle")
