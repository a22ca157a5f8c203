"""One chat request through the edge, whatever dialect the client and the provider speak.

authenticate → parse (client dialect) → idempotency (replay, wait, or claim) → plan (policy,
route, session) → admission (one Redis round trip: key limits, breakers, cooldowns, session,
routing signals) → candidates in strategy order → dispatch (per candidate: translate, send,
fall back) → answer as JSON or as a stream relayed incrementally, in the client's dialect →
settlement (one Redis round trip, off the answer's path) and one usage event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec
from litestar import Request, Response
from litestar.response import Stream

from services.edge.context import request_id_of
from services.edge.dispatch.admission import Admission, admit
from services.edge.dispatch.budget import LEASE_GRACE_MS, BudgetHold
from services.edge.dispatch.dispatcher import Dispatcher, Opened, Prepared, attempt_timeouts
from services.edge.dispatch.idempotency import REPLAY_HEADER, IdempotencyGate
from services.edge.dispatch.settlement import Settlement
from services.edge.pipeline.authn import authenticate, check_model_allowed
from services.edge.pipeline.capabilities import check_translatable
from services.edge.pipeline.exchange import CLIENT_CLOSED, Exchange
from services.edge.pipeline.gateway_settings import request_rewrite
from services.edge.pipeline.ledger import settle_answer
from services.edge.pipeline.plan import Plan, make_plan, preferred_first
from services.edge.pipeline.relay import StreamRelay
from services.edge.pipeline.replay import ReplayStore, SignatureCollector
from services.edge.pipeline.signatures import SignatureTagger, attribute, keep_for, tag_result
from services.edge.state import EdgeState, edge_state
from services.edge.upstream import iter_chunks
from shared import metrics
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import BadRequest, GatewayError, InternalError
from shared.canonical.usage import Usage
from shared.formats.base import BuildOptions, Dialect, ParsedRequest, RequestContext, UpstreamCall
from shared.formats.registry import get_dialect
from shared.kv.idempotency import StoredResponse
from shared.pricing import format_usd
from shared.routing.candidates import Candidate, candidates
from shared.routing.config import Target
from shared.settings import Timeouts
from shared.sse import SSEParser

__all__ = ["ChatRoute", "error_response", "handle_chat"]

log = logging.getLogger(__name__)

_SIGNATURES = frozenset({"thinking_signature", "tool_signature"})
_NOT_STORED = frozenset({"x-omniroute-request-id"})


@dataclass(frozen=True, slots=True)
class ChatRoute:
    """What a route knows: the client's dialect, the endpoint's metric name, URL facts, a pinned provider."""

    dialect: Dialect
    endpoint: str
    context: RequestContext = field(default_factory=RequestContext)
    pinned_provider: str | None = None
    json_array_stream: bool = False  # Gemini's streamGenerateContent without alt=sse: one JSON array


def error_response(
    dialect: Dialect, error: GatewayError, request_id: str, extra: Mapping[str, str] | None = None
) -> Response[bytes]:
    headers = {"X-OmniRoute-Request-Id": request_id, **(extra or {}), **error.headers}
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


def _needs_replay(client: Dialect, provider: Dialect) -> bool:
    return bool(_SIGNATURES - client.carries) and bool(_SIGNATURES & provider.carries)


def _build(
    parsed: ParsedRequest, client: Dialect, provider: Dialect, target: Target, chat: ChatRequest, passthrough: bool
) -> UpstreamCall:
    options = BuildOptions(model=target.model, echo_reasoning=target.upstream.spec.echo_reasoning)
    if passthrough and provider.name == client.name:
        return provider.passthrough_request(parsed.body, chat, options)
    return provider.build_request(chat, options)


def _usage_of(provider: Dialect, raw: bytes) -> Usage:
    try:
        return provider.parse_result(raw).usage
    except GatewayError:
        return Usage()  # forwarded as the upstream sent it; nothing to meter


def _stored(status: int, headers: Mapping[str, str], body: bytes, media_type: str, stream: bool) -> StoredResponse:
    kept = [(name, value) for name, value in headers.items() if name.lower() not in _NOT_STORED]
    return StoredResponse(status=status, headers=kept, body=body, media_type=media_type, stream=stream)


def _replayed(stored: StoredResponse, request_id: str) -> Response[bytes] | Stream:
    headers = dict(stored.headers) | {"X-OmniRoute-Request-Id": request_id, REPLAY_HEADER: "true"}
    if stored.stream:
        return Stream(iter([stored.body]), status_code=stored.status, media_type=stored.media_type, headers=headers)
    return Response(stored.body, status_code=stored.status, media_type=stored.media_type, headers=headers)


class _Call:
    """The state of one chat call from the request to its settlement."""

    def __init__(self, state: EdgeState, route: ChatRoute, exchange: Exchange) -> None:
        self.state = state
        self.route = route
        self.exchange = exchange
        self.replay = ReplayStore(state.redis)
        self.settlement = Settlement(state.fleet, route.endpoint)
        self.gate: IdempotencyGate | None = None
        self.headers: dict[str, str] = {}  # rate-limit and session headers, on every answer once known
        self.config = state.holder.current
        self.timeouts = Timeouts()
        self.plan: Plan | None = None
        self.admission: Admission | None = None
        self.budget: BudgetHold | None = None  # the budget reservation held until settlement
        self.rewritten = False  # a gateway setting changed the request: rebuild it, never forward the bytes

    @property
    def scope(self) -> str:
        """Replay records are kept per API key, so one caller's calls never match another's."""
        key = self.exchange.key
        return key.id if key is not None else "anonymous"

    async def run(self, request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
        state, route, exchange = self.state, self.route, self.exchange
        config = self.config
        exchange.key = authenticate(
            request.headers, request.scope["query_string"], config, state.settings.require_api_key
        )
        body = await request.body()
        parsed = route.dialect.parse_request(body, route.context)
        chat = parsed.request
        exchange.requested_model, exchange.stream = chat.model, chat.stream
        model = _pin(chat.model, route.pinned_provider)
        check_model_allowed(exchange.key, model)
        chat = self._rewrite(chat)
        stored = await self._enter_idempotency(request, body)
        if stored is not None:
            exchange.finish(state.usage, stored.status)
            self.settlement.run_in_background()
            return _replayed(stored, exchange.request_id)
        plan = self.plan = make_plan(config, exchange.key, chat, model, request.headers)
        if plan.session_id is not None:
            self.headers["X-OmniRoute-Session-Id"] = plan.session_id
        admission = self.admission = await admit(
            state.fleet,
            config,
            self.settlement.trips,
            needs=plan.needs,
            key_limits=plan.key_limits,
            estimated_tokens=plan.estimated_tokens,
            session_key=plan.session_key,
            budget=self._budget_hold(plan),
        )
        self.headers |= admission.headers
        self.budget = admission.budget_held
        refused = admission.refusal()
        if refused is not None:
            metrics.RATE_LIMITED.labels("key").inc()
            raise refused  # abandon() releases the budget reservation
        refused = admission.budget_refusal()
        if refused is not None:
            metrics.RATE_LIMITED.labels("budget").inc()
            self.settlement.refund_limits(admission.limits_named, plan.estimated_tokens)
            raise refused
        found, skipped = candidates(plan.route, config, admission.signals, admission.availability)
        found = preferred_first(found, plan.policy.prefer_providers)
        self.timeouts = attempt_timeouts(state.settings.timeouts, config)
        dispatcher = Dispatcher(
            state.fleet,
            state.upstreams,
            config,
            self.timeouts,
            self.settlement.trips,
            stream=chat.stream,
            holder=exchange.request_id,
            estimated_tokens=plan.estimated_tokens,
        )
        exchange.upstream_sent()
        opened = await dispatcher.open(found, skipped, lambda candidate: self._prepare(parsed, plan, candidate))
        exchange.first_byte()
        exchange.target = opened.candidate.target
        if opened.fallbacks:
            self.headers["X-OmniRoute-Fallback-Attempts"] = str(opened.fallbacks)
        if chat.stream:
            progress = request.headers.get("x-omniroute-progress", "").lower() == "true"
            return self._answer_stream(opened, progress)
        return await self._answer_json(opened)

    def _budget_hold(self, plan: Plan) -> BudgetHold | None:
        key, budget = self.exchange.key, plan.budget
        if key is None or budget is None:
            return None
        lease = int(attempt_timeouts(self.state.settings.timeouts, self.config).total * 1000) + LEASE_GRACE_MS
        return BudgetHold(
            key.id, self.exchange.request_id, plan.budget_reservation, budget.limit_micros, budget.period, lease
        )

    def _settle_budget(self, cost_micros: int) -> None:
        """Release the reservation and count the real cost (0 when nothing was answered), once."""
        hold, self.budget = self.budget, None
        if hold is not None:
            budgets = self.state.fleet.budgets
            self.settlement.add(lambda batch, _: hold.settle(budgets, batch, cost_micros))

    def _rewrite(self, chat: ChatRequest) -> ChatRequest:
        """The thinking-budget and system-prompt settings (/api/settings/...), when any is in force."""
        rewrite = request_rewrite(self.config)
        if rewrite is None:
            return chat
        changed = rewrite.apply(chat)
        self.rewritten = changed is not chat
        return changed

    async def _enter_idempotency(self, request: Request[Any, Any, Any], body: bytes) -> StoredResponse | None:
        headers = request.headers
        if "idempotency-key" not in headers and "x-request-id" not in headers:
            return None
        key = self.exchange.key
        target = f"{request.method} {request.scope['path']}?{request.scope['query_string'].decode('latin-1')}"
        self.gate = IdempotencyGate.of(
            self.state.fleet,
            self.settlement.trips,
            self.config.idempotency,
            request.headers,
            key_id=key.id if key is not None else "anonymous",
            target=target,
            body=body,
            owner=self.exchange.request_id,
            lifetime=attempt_timeouts(self.state.settings.timeouts, self.config).total,
        )
        if self.gate is None:
            return None
        stored = await self.gate.enter()
        if stored is not None:
            self.gate = None  # a replay owns nothing to complete or release
        return stored

    async def _prepare(self, parsed: ParsedRequest, plan: Plan, candidate: Candidate) -> Prepared:
        """The request for one candidate: translated to its dialect, signatures restored where needed."""
        client, target = self.route.dialect, candidate.target
        chat = plan.chat
        check_translatable(chat, target)
        provider = get_dialect(target.upstream.dialect)
        if self.rewritten and chat.unsupported:
            raise BadRequest(
                f"{', '.join(chat.unsupported)} cannot be sent while the gateway's system prompt or thinking "
                "budget setting changes requests (the request is rebuilt, and cannot carry them).",
                code="unsupported_feature",
            )
        if provider.name != client.name:
            chat = attribute(chat, client.name)
            if _needs_replay(client, provider):
                chat = await self.replay.restore(chat, self.scope, self.settlement.trips.add)
            chat = keep_for(chat, provider.name)
        passthrough = not plan.capped and not self.rewritten
        return Prepared(provider, chat, _build(parsed, client, provider, target, chat, passthrough))

    def abandon(self) -> None:
        """The request ends without an answer: release its claim and settle what it holds."""
        gate = self.gate
        if gate is not None:
            self.gate = None
            self.settlement.add(lambda batch, _: gate.release(batch))
        self._settle_budget(0)
        self.settlement.run_in_background()

    def _answer_headers(self) -> dict[str, str]:
        headers = {"X-OmniRoute-Request-Id": self.exchange.request_id}
        target = self.exchange.target
        if target is not None:
            headers["X-OmniRoute-Provider"] = target.upstream.spec.id
            headers["X-OmniRoute-Model"] = target.model
        return headers | self.headers

    async def _answer_json(self, opened: Opened) -> Response[bytes]:
        client, provider, exchange = self.route.dialect, opened.prepared.provider, self.exchange
        raw = opened.head
        try:
            if provider.name == client.name:
                body, usage = raw, _usage_of(provider, raw)
            else:
                result = provider.parse_result(raw)
                body, usage = (
                    client.render_result(tag_result(result, provider.name), opened.prepared.chat),
                    result.usage,
                )
                if _needs_replay(client, provider):
                    await self.replay.save(result.content, provider.name, self.scope, self.settlement.trips.add)
        except GatewayError as exc:
            self._settle(opened, Usage(), exc)
            raise
        exchange.settle(usage)
        headers = self._answer_headers()
        headers["X-OmniRoute-Tokens-In"] = str(usage.input_tokens)
        headers["X-OmniRoute-Tokens-Out"] = str(usage.output_tokens)
        headers["X-OmniRoute-Response-Cost"] = format_usd(exchange.cost_micros)
        self._settle(opened, usage, None, _stored(200, headers, body, "application/json", stream=False))
        exchange.finish(self.state.usage, 200)
        return Response(body, media_type="application/json", headers=headers)

    def _settle(
        self, opened: Opened, usage: Usage, failure: GatewayError | None, answer: StoredResponse | None = None
    ) -> None:
        """Queue the request's write-back and idempotent answer, then send them off the answer's path."""
        assert self.plan is not None
        assert self.admission is not None
        settle_answer(
            self.settlement,
            self.state.fleet,
            self.config,
            self.plan,
            self.admission,
            opened,
            usage,
            holder=self.exchange.request_id,
            failure=failure,
        )
        self._settle_budget(self.exchange.cost_micros)
        gate = self.gate
        if gate is not None:
            self.gate = None
            if answer is not None and failure is None:
                self.settlement.add(lambda batch, _: gate.complete(batch, answer))
            else:
                self.settlement.add(lambda batch, _: gate.release(batch))
        self.settlement.run_in_background()

    def _answer_stream(self, opened: Opened, progress: bool) -> Stream:
        client, provider = self.route.dialect, opened.prepared.provider
        headers = self._answer_headers() | {"cache-control": "no-cache", "x-accel-buffering": "no"}
        if progress:
            headers["X-OmniRoute-Progress"] = "enabled"
        collector = SignatureCollector() if _needs_replay(client, provider) else None
        tagger = SignatureTagger(provider.name) if provider.name != client.name else None
        relay = StreamRelay(
            client, provider, opened.prepared.chat, progress=progress, collector=collector, tagger=tagger
        )
        framer = JsonArrayFramer() if self.route.json_array_stream else None
        media_type = "application/json" if framer is not None else client.stream_media_type
        stream = self._relay(relay, opened, collector, framer, _stored(200, headers, b"", media_type, stream=True))
        return Stream(stream, media_type=media_type, headers=headers)

    async def _relay(
        self,
        relay: StreamRelay,
        opened: Opened,
        collector: SignatureCollector | None,
        framer: JsonArrayFramer | None,
        answer: StoredResponse,
    ) -> AsyncIterator[bytes]:
        """Relay the upstream stream; everything the client got is kept when the answer is to be stored."""
        upstream = opened.response
        assert upstream is not None
        sent: list[bytes] | None = [] if self.gate is not None else None
        status, error_code = 200, None
        metrics.ACTIVE_STREAMS.inc()

        def out(data: bytes) -> bytes:
            framed = framer.feed(data) if framer is not None else data
            if sent is not None and framed:
                sent.append(framed)
            return framed

        try:
            try:
                async for chunk in _chunks(opened.head, upstream, self.timeouts.idle):
                    data = out(relay.feed(chunk))
                    if data:
                        yield data
                    if relay.finished:
                        break
                data = out(relay.end())
                if data:
                    yield data
            except GatewayError as exc:
                yield out(relay.fail(exc))
            except Exception:
                log.exception("stream relay failed", extra={"request_id": self.exchange.request_id})
                yield out(relay.fail(InternalError("The gateway failed while relaying the stream.")))
            if framer is not None:
                closing = framer.end()
                if sent is not None:
                    sent.append(closing)
                yield closing
        except (asyncio.CancelledError, GeneratorExit):
            status, error_code = CLIENT_CLOSED, "client_closed"  # the client went away
            raise
        finally:
            upstream.close()
            metrics.ACTIVE_STREAMS.dec()
            await self._end_stream(relay, opened, collector, sent, answer, status, error_code)

    async def _end_stream(
        self,
        relay: StreamRelay,
        opened: Opened,
        collector: SignatureCollector | None,
        sent: list[bytes] | None,
        answer: StoredResponse,
        status: int,
        error_code: str | None,
    ) -> None:
        if relay.error is not None and status == 200:
            status, error_code = relay.error.status, relay.error.code
        self.exchange.settle(relay.usage)
        self.exchange.finish(self.state.usage, status, error_code)
        stored = msgspec.structs.replace(answer, body=b"".join(sent)) if status == 200 and sent is not None else None
        # a client that went away is not the provider's failure
        self._settle(opened, relay.usage, relay.error if status != CLIENT_CLOSED else None, stored)
        if collector is not None and collector.parts and status == 200:
            await self.replay.save(collector.parts, opened.prepared.provider.name, self.scope)


async def _chunks(head: bytes, upstream: aiohttp.ClientResponse, idle: float) -> AsyncIterator[bytes]:
    yield head
    async for chunk in iter_chunks(upstream, idle):
        yield chunk


class JsonArrayFramer:
    """SSE `data:` frames re-framed as the elements of one JSON array (Gemini without alt=sse), incrementally."""

    __slots__ = ("_first", "_parser")

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._first = True

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for event in self._parser.feed(chunk):
            out += (b"[" if self._first else b",\r\n") + event.data
            self._first = False
        return bytes(out)

    def end(self) -> bytes:
        return b"[]" if self._first else b"]"


async def handle_chat(request: Request[Any, Any, Any], route: ChatRoute) -> Response[bytes] | Stream:
    state = edge_state(request)
    exchange = Exchange(request_id_of(request), route.endpoint, route.dialect.name)
    call = _Call(state, route, exchange)
    try:
        return await call.run(request)
    except GatewayError as exc:
        call.abandon()
        exchange.finish(state.usage, exc.status, exc.code)
        return error_response(route.dialect, exc, exchange.request_id, call.headers)
    except Exception:
        call.abandon()  # answered 500 by the app's handler; the claim must not outlive it
        exchange.finish(state.usage, 500, "internal_error")
        raise
