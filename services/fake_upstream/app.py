"""The fake upstream (SPEC §9): every provider dialect with deterministic answers and scripted faults.

Control endpoints (not part of any provider API):
- `POST /_fake/script` `{"match": {"model"?, "apiKey"?}, "fault": {...}, "times"?}`, `DELETE /_fake/script`
- `GET /_fake/ledger` (every request seen: path, model, stream, status, key fingerprint), `DELETE /_fake/ledger`
- `GET /_fake/requests`: the last request bodies as received, oldest first (`[{"path", "body"}]`);
  `DELETE /_fake/requests`
"""

from __future__ import annotations

from collections import deque

from aiohttp import web

from services.fake_upstream.dialects import loaded
from services.fake_upstream.faults import FaultScript
from services.fake_upstream.serving import LEDGER, RECENT_BODIES, SCRIPT
from shared import jsonx

__all__ = ["create_app"]

_LEDGER_SIZE = 100_000
_RECENT_BODIES = 64


async def add_script(request: web.Request) -> web.Response:
    body = jsonx.loads(await request.read())
    match = body.get("match") or {}
    request.app[SCRIPT].add(body.get("fault") or {}, match.get("model"), match.get("apiKey"), body.get("times"))
    return web.json_response({"ok": True})


async def clear_script(request: web.Request) -> web.Response:
    request.app[SCRIPT].clear()
    return web.json_response({"ok": True})


async def read_ledger(request: web.Request) -> web.Response:
    ledger = request.app[LEDGER]
    return web.Response(body=jsonx.dumps(list(ledger)), content_type="application/json")


async def clear_ledger(request: web.Request) -> web.Response:
    request.app[LEDGER].clear()
    return web.json_response({"ok": True})


async def read_requests(request: web.Request) -> web.Response:
    entries = []
    for path, raw in request.app[RECENT_BODIES]:
        try:
            body = jsonx.loads(raw)
        except jsonx.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        entries.append({"path": path, "body": body})
    return web.Response(body=jsonx.dumps(entries), content_type="application/json")


async def clear_requests(request: web.Request) -> web.Response:
    request.app[RECENT_BODIES].clear()
    return web.json_response({"ok": True})


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SCRIPT] = FaultScript()
    app[LEDGER] = deque(maxlen=_LEDGER_SIZE)
    app[RECENT_BODIES] = deque(maxlen=_RECENT_BODIES)
    for module in loaded():
        app.router.add_routes(module.routes())
    app.router.add_routes(
        [
            web.post("/_fake/script", add_script),
            web.delete("/_fake/script", clear_script),
            web.get("/_fake/ledger", read_ledger),
            web.delete("/_fake/ledger", clear_ledger),
            web.get("/_fake/requests", read_requests),
            web.delete("/_fake/requests", clear_requests),
            web.get("/healthz", healthz),
        ]
    )
    return app
