"""Raw requests to an app under AsyncTestClient: exact paths and hand-made body streams.

HTTP clients normalise paths (dot segments, case of escapes) and always frame bodies, so tests of
path tricks and streamed bodies speak ASGI directly, on the event loop the app's lifespan runs on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from litestar.testing import AsyncTestClient

__all__ = ["RawAnswer", "raw_request"]


class RawAnswer:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


async def raw_request(
    client: AsyncTestClient,
    method: str,
    raw_path: str,
    headers: dict[str, str] | None = None,
    chunks: Sequence[bytes] = (b"{}",),
    client_address: str = "127.0.0.1",
) -> RawAnswer:
    """Send one request as a server would hand it over: percent-decoded `path`, untouched `raw_path`,
    no dot-segment clean-up, the body in the given chunks (no Content-Length unless in `headers`)."""
    return await asyncio.to_thread(
        client.blocking_portal.call, _call, client.app, method, raw_path, headers or {}, list(chunks), client_address
    )


async def _call(
    app: Any, method: str, raw_path: str, headers: dict[str, str], chunks: list[bytes], client_address: str
) -> RawAnswer:
    path, _, query = raw_path.partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (client_address, 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    pending = list(chunks) or [b""]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return RawAnswer(int(start["status"]), answer_headers, body)
