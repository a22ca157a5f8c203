"""One chat request through the edge, whatever dialect the client and the provider speak.

authenticate → parse (client dialect) → resolve the model → check what the provider can take →
restore signatures the client could not carry → build (translate, or pass the client's own body
through when both sides speak one dialect) → call the upstream → answer as JSON or as a stream
relayed incrementally, in the client's dialect → one usage event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from litestar import Request, Response
from litestar.response import Stream

from services.edge.config import EdgeConfig, Target
from services.edge.context import request_id_of
from services.edge.pipeline.authn import authenticate, check_model_allowed
from services.edge.pipeline.capabilities import check_translatable
from services.edge.pipeline.exchange import CLIENT_CLOSED, Exchange
from services.edge.pipeline.relay import StreamRelay
from services.edge.pipeline.replay import ReplayStore, SignatureCollector
from services.edge.pipeline.signatures import SignatureTagger, attribute, keep_for, tag_result
from services.edge.state import EdgeState, edge_state
from services.edge.upstream import iter_chunks, open_attempt, read_body
from shared import metrics
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import BadRequest, GatewayError, InternalError, NotFound
from shared.canonical.usage import Usage
from shared.formats.base import BuildOptions, Dialect, ParsedRequest, RequestContext, UpstreamCall
from shared.formats.registry import get_dialect
from shared.pricing import format_usd
from shared.sse import SSEParser

__all__ = ["ChatRoute", "error_response", "handle_chat"]

log = logging.getLogger(__name__)

_SIGNATURES = frozenset({"thinking_signature", "tool_signature"})


@dataclass(frozen=True, slots=True)
class ChatRoute:
    """What a route knows: the client's dialect, the endpoint's metric name, URL facts, a pinned provider."""

    dialect: Dialect
    endpoint: str
    context: RequestContext = field(default_factory=RequestContext)
    pinned_provider: str | None = None
    json_array_stream: bool = False  # Gemini's streamGenerateContent without alt=sse: one JSON array


def error_response(dialect: Dialect, error: GatewayError, request_id: str) -> Response[bytes]:
    headers = {"X-OmniRoute-Request-Id": request_id, **error.headers}
    return Response(
        dialect.render_error(error), status_code=error.status, media_type="application/json", headers=headers
    )


def _pin(model: str, provider: str | None) -> str:
    """`/v1/providers/{provider}/...`: the prefix is added when missing; another provider's model is a 400."""
    if provider is None:
        return model
    prefix, slash, _ = model.partition("/")
    if not slash:
        return f"{provider}/{model}"
    if prefix == provider:
        return model
    raise BadRequest(f"The model '{model[:200]}' belongs to another provider than '{provider}'.", param="model")


def _resolve(config: EdgeConfig, model: str) -> Target:
    targets = config.resolve(model)
    if not targets:
        raise NotFound(
            f"The model '{model[:200]}' does not exist or you do not have access to it.",
            code="model_not_found",
            param="model",
        )
    return targets[0]


def _needs_replay(client: Dialect, provider: Dialect) -> bool:
    return bool(_SIGNATURES - client.carries) and bool(_SIGNATURES & provider.carries)


def _build(
    parsed: ParsedRequest, client: Dialect, provider: Dialect, target: Target, chat: ChatRequest
) -> UpstreamCall:
    options = BuildOptions(model=target.model, echo_reasoning=target.upstream.spec.echo_reasoning)
    if provider.name == client.name:
        return provider.passthrough_request(parsed.body, chat, options)
    return provider.build_request(chat, options)


def _headers(exchange: Exchange) -> dict[str, str]:
    headers = {"X-OmniRoute-Request-Id": exchange.request_id}
    if exchange.target is not None:
        headers["X-OmniRoute-Provider"] = exchange.target.upstream.spec.id
        headers["X-OmniRoute-Model"] = exchange.target.model
    return headers


class _Call:
    """The state of one chat call between routing and the answer."""

    def __init__(self, state: EdgeState, route: ChatRoute, exchange: Exchange) -> None:
        self.state = state
        self.route = route
        self.exchange = exchange
        self.replay = ReplayStore(state.redis)

    @property
    def scope(self) -> str:
        """Replay records are kept per API key, so one caller's calls never match another's."""
        key = self.exchange.key
        return key.id if key is not None else "anonymous"

    async def prepare(self, request: Request[Any, Any, Any]) -> tuple[ChatRequest, Dialect, aiohttp.ClientResponse]:
        state, route, exchange = self.state, self.route, self.exchange
        config = state.holder.current
        query = request.scope["query_string"]
        exchange.key = authenticate(request.headers, query, config, state.settings.require_api_key)
        parsed = route.dialect.parse_request(await request.body(), route.context)
        chat = parsed.request
        exchange.requested_model = chat.model
        exchange.stream = chat.stream
        model = _pin(chat.model, route.pinned_provider)
        check_model_allowed(exchange.key, model)
        target = exchange.target = _resolve(config, model)
        check_translatable(chat, target)
        provider = get_dialect(target.upstream.dialect)
        if provider.name != route.dialect.name:
            chat = attribute(chat, route.dialect.name)
            if _needs_replay(route.dialect, provider):
                chat = await self.replay.restore(chat, self.scope)
            chat = keep_for(chat, provider.name)
        call = _build(parsed, route.dialect, provider, target, chat)
        exchange.upstream_sent()
        upstream = await open_attempt(
            state.session,
            target.upstream.url(call, target.model),
            target.upstream.auth_headers + call.headers,
            call.body,
            state.settings.timeouts,
            provider.classify_error,
        )
        exchange.first_byte()
        return chat, provider, upstream

    async def answer_json(
        self, chat: ChatRequest, provider: Dialect, upstream: aiohttp.ClientResponse
    ) -> Response[bytes]:
        client, exchange = self.route.dialect, self.exchange
        try:
            raw = await read_body(upstream, self.state.settings.timeouts)
        finally:
            upstream.release()
        if provider.name == client.name:
            body, usage = raw, _usage_of(provider, raw)
        else:
            result = provider.parse_result(raw)
            body, usage = client.render_result(tag_result(result, provider.name), chat), result.usage
            if _needs_replay(client, provider):
                await self.replay.save(result.content, provider.name, self.scope)
        exchange.settle(usage)
        exchange.finish(self.state.usage, 200)
        headers = _headers(exchange)
        headers["X-OmniRoute-Tokens-In"] = str(usage.input_tokens)
        headers["X-OmniRoute-Tokens-Out"] = str(usage.output_tokens)
        headers["X-OmniRoute-Response-Cost"] = format_usd(exchange.cost_micros)
        return Response(body, media_type="application/json", headers=headers)

    def answer_stream(
        self, chat: ChatRequest, provider: Dialect, upstream: aiohttp.ClientResponse, progress: bool
    ) -> Stream:
        client = self.route.dialect
        headers = _headers(self.exchange) | {"cache-control": "no-cache", "x-accel-buffering": "no"}
        if progress:
            headers["X-OmniRoute-Progress"] = "enabled"
        collector = SignatureCollector() if _needs_replay(client, provider) else None
        tagger = SignatureTagger(provider.name) if provider.name != client.name else None
        relay = StreamRelay(client, provider, chat, progress=progress, collector=collector, tagger=tagger)
        stream = self._relay(relay, upstream, collector, provider.name)
        if self.route.json_array_stream:
            return Stream(as_json_array(stream), media_type="application/json", headers=headers)
        return Stream(stream, media_type=client.stream_media_type, headers=headers)

    async def _relay(
        self, relay: StreamRelay, upstream: aiohttp.ClientResponse, collector: SignatureCollector | None, origin: str
    ) -> AsyncIterator[bytes]:
        status, error_code = 200, None
        metrics.ACTIVE_STREAMS.inc()
        try:
            async for chunk in iter_chunks(upstream, self.state.settings.timeouts.idle):
                out = relay.feed(chunk)
                if out:
                    yield out
                if relay.finished:
                    break
            tail = relay.end()
            if tail:
                yield tail
        except GatewayError as exc:
            yield relay.fail(exc)
        except (asyncio.CancelledError, GeneratorExit):
            status, error_code = CLIENT_CLOSED, "client_closed"  # the client went away
            raise
        except Exception:
            log.exception("stream relay failed", extra={"request_id": self.exchange.request_id})
            yield relay.fail(InternalError("The gateway failed while relaying the stream."))
        finally:
            upstream.close()
            metrics.ACTIVE_STREAMS.dec()
            if relay.error is not None and status == 200:
                status, error_code = relay.error.status, relay.error.code
            self.exchange.settle(relay.usage)
            self.exchange.finish(self.state.usage, status, error_code)
            if collector is not None and collector.parts and relay.error is None:
                await self.replay.save(collector.parts, origin, self.scope)


async def as_json_array(frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """SSE `data:` frames re-framed as the elements of one JSON array, still incrementally."""
    parser = SSEParser()
    first = True
    async for chunk in frames:
        out = bytearray()
        for event in parser.feed(chunk):
            out += (b"[" if first else b",\r\n") + event.data
            first = False
        if out:
            yield bytes(out)
    yield b"[]" if first else b"]"


def _usage_of(provider: Dialect, raw: bytes) -> Usage:
    try:
        return provider.parse_result(raw).usage
    except GatewayError:
        return Usage()  # forwarded as the upstream sent it; nothing to meter


async def handle_chat(request: Request[Any, Any, Any], route: ChatRoute) -> Response[bytes] | Stream:
    state = edge_state(request)
    exchange = Exchange(request_id_of(request), route.endpoint, route.dialect.name)
    call = _Call(state, route, exchange)
    try:
        chat, provider, upstream = await call.prepare(request)
    except GatewayError as exc:
        exchange.finish(state.usage, exc.status, exc.code)
        return error_response(route.dialect, exc, exchange.request_id)
    if chat.stream:
        progress = request.headers.get("x-omniroute-progress", "").lower() == "true"
        return call.answer_stream(chat, provider, upstream, progress)
    try:
        return await call.answer_json(chat, provider, upstream)
    except GatewayError as exc:
        exchange.finish(state.usage, exc.status, exc.code)
        return error_response(route.dialect, exc, exchange.request_id)
