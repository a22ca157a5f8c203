"""The fake upstream (SPEC §9): provider wire formats with deterministic answers and scripted faults.

Control endpoints (not part of any provider API):
- `POST /_fake/script` `{"match": {"model"?, "apiKey"?}, "fault": {...}, "times"?}`, `DELETE /_fake/script`
- `GET /_fake/ledger` (every request seen: path, model, stream, status, key fingerprint), `DELETE /_fake/ledger`
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from services.fake_upstream.faults import Fault, FaultScript, key_fingerprint, parse_directive
from services.fake_upstream.openai_chat import build_answer, completion_body, last_user_text, stream_events
from shared import jsonx

__all__ = ["create_app"]

_SCRIPT = web.AppKey("script", FaultScript)
_LEDGER = web.AppKey("ledger", list)
_MODELS = ("gpt-4o-mini", "gpt-4o", "demo-chat")


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def _error(status: int, message: str, retry_after: float | None = None) -> web.Response:
    kind = {429: "rate_limit_error", 401: "authentication_error", 404: "invalid_request_error"}.get(status, "api_error")
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    body = {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
    return web.Response(status=status, body=jsonx.dumps(body), content_type="application/json", headers=headers)


def _record(request: web.Request, model: str, stream: bool, status: int) -> None:
    request.app[_LEDGER].append(
        {
            "ts": time.time(),
            "path": request.path,
            "model": model,
            "stream": stream,
            "status": status,
            "key": key_fingerprint(_bearer(request)),
        }
    )


async def _stream(request: web.Request, body: dict[str, Any], fault: Fault) -> web.StreamResponse:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    answer = build_answer(body, fault.words, int(time.time()))
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    if fault.stall_after_headers_ms:
        await asyncio.sleep(fault.stall_after_headers_ms / 1000)
    for index, payload in enumerate(stream_events(answer, include_usage)):
        if fault.cut_after is not None and index >= fault.cut_after:
            if request.transport is not None:
                request.transport.abort()  # a broken connection, not a clean end
            return response
        if fault.upstream_error_after is not None and index >= fault.upstream_error_after:
            error = {
                "error": {"message": "The server had an error while processing your request.", "type": "server_error"}
            }
            await response.write(b"data: " + jsonx.dumps(error) + b"\n\n")
            return response
        if fault.chunk_delay_ms and index:
            await asyncio.sleep(fault.chunk_delay_ms / 1000)
        frame = b"data: " + payload + b"\n\n"
        if fault.noise:
            frame = b": keep-alive\nid: " + str(index).encode() + b"\nretry: 1000\n" + frame
        if fault.garbage and index == 1:
            frame = b"data: {not json\n\n" + frame
        await response.write(frame)
    await response.write_eof()
    return response


async def chat_completions(request: web.Request) -> web.StreamResponse:
    try:
        body = jsonx.loads(await request.read())
    except jsonx.JSONDecodeError:
        return _error(400, "We could not parse the JSON body of your request.")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _error(400, "'messages' is a required property")
    model = str(body.get("model", ""))
    stream = body.get("stream") is True
    fault = parse_directive(request.headers.get("X-Fake-Fault"), last_user_text(body["messages"]))
    if fault.is_empty:
        fault = request.app[_SCRIPT].take(model, key_fingerprint(_bearer(request)))
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.status is not None and fault.status >= 400:
        _record(request, model, stream, fault.status)
        return _error(fault.status, f"Scripted failure {fault.status}.", fault.retry_after)
    _record(request, model, stream, 200)
    if stream:
        return await _stream(request, body, fault)
    answer = build_answer(body, fault.words, int(time.time()))
    return web.Response(body=completion_body(answer), content_type="application/json")


async def list_models(_: web.Request) -> web.Response:
    data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in _MODELS]
    return web.Response(body=jsonx.dumps({"object": "list", "data": data}), content_type="application/json")


async def add_script(request: web.Request) -> web.Response:
    body = jsonx.loads(await request.read())
    match = body.get("match") or {}
    request.app[_SCRIPT].add(body.get("fault") or {}, match.get("model"), match.get("apiKey"), body.get("times"))
    return web.json_response({"ok": True})


async def clear_script(request: web.Request) -> web.Response:
    request.app[_SCRIPT].clear()
    return web.json_response({"ok": True})


async def read_ledger(request: web.Request) -> web.Response:
    return web.Response(body=jsonx.dumps(request.app[_LEDGER]), content_type="application/json")


async def clear_ledger(request: web.Request) -> web.Response:
    request.app[_LEDGER].clear()
    return web.json_response({"ok": True})


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_SCRIPT] = FaultScript()
    app[_LEDGER] = []
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/models", list_models)
    app.router.add_post("/_fake/script", add_script)
    app.router.add_delete("/_fake/script", clear_script)
    app.router.add_get("/_fake/ledger", read_ledger)
    app.router.add_delete("/_fake/ledger", clear_ledger)
    app.router.add_get("/healthz", healthz)
    return app
