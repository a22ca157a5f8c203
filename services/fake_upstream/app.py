"""The fake upstream (SPEC §9): every provider dialect with deterministic answers and scripted faults.

Control endpoints (not part of any provider API):
- `POST /_fake/script` `{"match": {"model"?, "apiKey"?}, "fault": {...}, "times"?}`, `DELETE /_fake/script`
- `GET /_fake/ledger` (every request seen: path, model, stream, status, key fingerprint), `DELETE /_fake/ledger`
"""

from __future__ import annotations

from collections import deque

from aiohttp import web

from services.fake_upstream.dialects import loaded
from services.fake_upstream.faults import FaultScript
from services.fake_upstream.serving import LEDGER, SCRIPT
from shared import jsonx

__all__ = ["create_app"]

_LEDGER_SIZE = 100_000


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


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SCRIPT] = FaultScript()
    app[LEDGER] = deque(maxlen=_LEDGER_SIZE)
    for module in loaded():
        app.router.add_routes(module.routes())
    app.router.add_routes(
        [
            web.post("/_fake/script", add_script),
            web.delete("/_fake/script", clear_script),
            web.get("/_fake/ledger", read_ledger),
            web.delete("/_fake/ledger", clear_ledger),
            web.get("/healthz", healthz),
        ]
    )
    return app
