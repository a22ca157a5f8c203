"""POST /v1/chat/completions (OpenAI Chat, JSON or SSE)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from litestar import Request, Response, post
from litestar.response import Stream

from services.edge.context import request_id_of
from services.edge.errors import error_response
from services.edge.pipeline.authn import authenticate, check_model_allowed
from services.edge.pipeline.exchange import CLIENT_CLOSED, Exchange
from services.edge.state import EdgeState, edge_state
from services.edge.upstream import iter_chunks, open_attempt, read_body
from shared import metrics
from shared.canonical.errors import GatewayError, InternalError, NotFound
from shared.formats.openai_chat.inbound import ChatRequest, parse_request
from shared.formats.openai_chat.outbound import build_request, usage_from_body
from shared.formats.openai_chat.stream import OpenAIStreamRelay, error_frame

__all__ = ["chat_completions"]

log = logging.getLogger(__name__)

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def _result_headers(exchange: Exchange) -> dict[str, str]:
    headers = {"X-OmniRoute-Request-Id": exchange.request_id}
    if exchange.target is not None:
        headers["X-OmniRoute-Provider"] = exchange.target.upstream.spec.id
        headers["X-OmniRoute-Model"] = exchange.target.model
    return headers


async def _relay(
    state: EdgeState, exchange: Exchange, upstream: aiohttp.ClientResponse, chat: ChatRequest
) -> AsyncIterator[bytes]:
    relay = OpenAIStreamRelay(wants_usage=chat.wants_usage)
    status, error_code = 200, None
    metrics.ACTIVE_STREAMS.inc()
    try:
        async for chunk in iter_chunks(upstream, state.settings.timeouts.idle):
            out = relay.feed(chunk)
            if out:
                yield out
            if relay.done or relay.error is not None:
                break
        tail = relay.finish()
        if tail:
            yield tail
        if relay.error is not None:
            status, error_code = relay.error.status, relay.error.code
    except GatewayError as exc:
        status, error_code = exc.status, exc.code
        yield error_frame(exc)
    except (asyncio.CancelledError, GeneratorExit):
        status, error_code = CLIENT_CLOSED, "client_closed"  # the client went away
        raise
    except Exception:
        log.exception("stream relay failed", extra={"request_id": exchange.request_id})
        failure = InternalError("The gateway failed while relaying the stream.")
        status, error_code = failure.status, failure.code
        yield error_frame(failure)
    finally:
        upstream.close()
        metrics.ACTIVE_STREAMS.dec()
        exchange.usage = relay.usage
        exchange.finish(state.usage, status, error_code)


@post("/v1/chat/completions", status_code=200, include_in_schema=False)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    state = edge_state(request)
    config = state.holder.current
    exchange = Exchange(request_id_of(request), "chat.completions", "openai")
    try:
        exchange.key = authenticate(
            request.headers, request.scope["query_string"], config, state.settings.require_api_key
        )
        chat = parse_request(await request.body())
        exchange.requested_model = chat.model
        exchange.stream = chat.stream
        check_model_allowed(exchange.key, chat.model)
        targets = config.resolve(chat.model)
        if not targets:
            raise NotFound(
                f"The model '{chat.model[:200]}' does not exist or you do not have access to it.",
                code="model_not_found",
                param="model",
            )
        exchange.target = target = targets[0]
        payload = build_request(chat.body, target.model, chat.stream)
        exchange.upstream_sent()
        upstream = await open_attempt(state.session, target, payload, state.settings.timeouts)
        exchange.first_byte()
    except GatewayError as exc:
        exchange.finish(state.usage, exc.status, exc.code)
        return error_response(exc, exchange.request_id)
    if chat.stream:
        headers = _result_headers(exchange) | _SSE_HEADERS
        return Stream(_relay(state, exchange, upstream, chat), media_type="text/event-stream", headers=headers)
    try:
        raw = await read_body(upstream, state.settings.timeouts)
    except GatewayError as exc:
        exchange.finish(state.usage, exc.status, exc.code)
        return error_response(exc, exchange.request_id)
    finally:
        upstream.release()
    exchange.usage = usage_from_body(raw)
    exchange.finish(state.usage, 200)
    headers = _result_headers(exchange)
    headers["X-OmniRoute-Tokens-In"] = str(exchange.usage.input_tokens)
    headers["X-OmniRoute-Tokens-Out"] = str(exchange.usage.output_tokens)
    return Response(raw, media_type="application/json", headers=headers)
