"""A minimal S3-compatible object store on loopback, for the cloud-sync tests.

Path-style PUT/GET/HEAD of objects in one bucket, ETags (quoted MD5), If-Match and
If-None-Match preconditions (412), and SigV4 verified against the test credentials: the
signature is recomputed from the request as received, and the payload hash must match the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from shared.sync.sigv4 import Credentials, canonical_request, signature
from tests.support.env import free_port

ACCESS_KEY_ID = "AKIDFAKES3TEST"
SECRET_ACCESS_KEY = "fake-s3-secret-key-for-tests-only"
REGION = "us-test-1"
BUCKET = "omniroute-sync"

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/s3/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass
class FakeS3:
    url: str
    objects: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # "METHOD status"
    # Runs once, just before the next PUT is handled: a concurrent writer getting there first.
    before_next_put: Callable[[FakeS3], None] | None = None

    def etag(self, key: str) -> str:
        return f'"{hashlib.md5(self.objects[key]).hexdigest()}"'  # S3 ETags are MD5


def _error(status: int, code: str) -> web.Response:
    return web.Response(status=status, text=f"<Error><Code>{code}</Code></Error>", content_type="application/xml")


def _verify(request: web.Request, body: bytes) -> web.Response | None:
    found = _AUTH.match(request.headers.get("Authorization", ""))
    if found is None or found["key"] != ACCESS_KEY_ID or found["region"] != REGION:
        return _error(403, "InvalidAccessKeyId")
    amz_date = request.headers.get("x-amz-date", "")
    body_hash = request.headers.get("x-amz-content-sha256", "")
    if not amz_date.startswith(found["day"]) or body_hash != hashlib.sha256(body).hexdigest():
        return _error(400, "XAmzContentSHA256Mismatch")
    names = found["signed"].split(";")
    if "host" not in names or "x-amz-date" not in names:
        return _error(403, "SignatureDoesNotMatch")
    headers = {name: request.headers.get(name, "") for name in names}
    parts = urlsplit(request.raw_path)
    canonical, _ = canonical_request(request.method, parts.path, parts.query, headers, body_hash)
    expected = signature(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION), amz_date, canonical)
    if not hmac.compare_digest(expected, found["sig"]):
        return _error(403, "SignatureDoesNotMatch")
    return None


def _app(store: FakeS3) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        response = await _answer(request, body)
        store.requests.append(f"{request.method} {response.status}")
        return response

    async def _answer(request: web.Request, body: bytes) -> web.Response:
        refused = _verify(request, body)
        if refused is not None:
            return refused
        bucket, _, key = request.path.lstrip("/").partition("/")
        if bucket != BUCKET:
            return _error(404, "NoSuchBucket")
        exists = key in store.objects
        if request.method in ("GET", "HEAD"):
            if not exists:
                return _error(404, "NoSuchKey")
            data = store.objects[key] if request.method == "GET" else b""
            return web.Response(body=data, headers={"ETag": store.etag(key)})
        if request.method != "PUT":
            return _error(405, "MethodNotAllowed")
        if store.before_next_put is not None:
            interloper, store.before_next_put = store.before_next_put, None
            interloper(store)
            exists = key in store.objects
        if_match, if_none = request.headers.get("If-Match"), request.headers.get("If-None-Match")
        if if_match is not None and (not exists or store.etag(key) != if_match):
            return _error(412, "PreconditionFailed")
        if if_none == "*" and exists:
            return _error(412, "PreconditionFailed")
        store.objects[key] = body
        return web.Response(status=200, headers={"ETag": store.etag(key)})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@contextmanager
def threaded_fake_s3() -> Iterator[FakeS3]:
    port = free_port()
    store = FakeS3(url=f"http://127.0.0.1:{port}")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(_app(store), access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="fake-s3", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield store
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
