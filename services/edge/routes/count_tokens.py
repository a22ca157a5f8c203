"""POST /v1/messages/count_tokens: the provider's own count where it has one, else a local estimate.

The model resolves like a request's (combos and aliases included) to its first target; when that
provider cannot count right now (unreachable, rate limited, failing) the local estimate answers.
The gateway's system prompt and thinking budget settings apply as they would to the request.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, post

from services.edge.context import request_id_of
from services.edge.pipeline.authn import authenticate, check_model_allowed
from services.edge.pipeline.chat import error_response
from services.edge.pipeline.gateway_settings import request_rewrite
from services.edge.state import EdgeState, edge_state
from services.edge.upstream import open_attempt, read_body
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import GatewayError, NotFound
from shared.formats.anthropic.inbound import parse_count_request, render_count
from shared.formats.base import BuildOptions, RequestContext, UpstreamCall
from shared.formats.estimate import estimate_input_tokens
from shared.formats.registry import get_dialect
from shared.routing.candidates import Availability, candidates
from shared.routing.order import Signals
from shared.routing.route import resolve_route

__all__ = ["count_tokens"]

Counter = tuple[Callable[[ChatRequest, BuildOptions], UpstreamCall], Callable[[bytes], int]]


def _counter(dialect: str) -> Counter | None:
    """The provider dialect's counting endpoint, when it has one (Anthropic, Gemini)."""
    outbound = importlib.import_module(f"shared.formats.{dialect}.outbound")
    build, parse = getattr(outbound, "count_tokens_request", None), getattr(outbound, "parse_count", None)
    return (build, parse) if build is not None and parse is not None else None


async def _count(state: EdgeState, request: Request[Any, Any, Any]) -> int:
    config = state.holder.current
    key = authenticate(request.headers, request.scope["query_string"], config, state.settings.require_api_key)
    chat = parse_count_request(await request.body(), RequestContext()).request
    check_model_allowed(key, chat.model)
    rewrite = request_rewrite(config)
    if rewrite is not None:
        chat = rewrite.apply(chat)  # count what a request would send: the gateway's system prompt included
    route = resolve_route(config, chat.model)
    found = candidates(route, config, Signals(), Availability())[0] if route is not None else []
    if not found:
        raise NotFound(
            f"The model '{chat.model[:200]}' does not exist or you do not have access to it.",
            code="model_not_found",
            param="model",
        )
    target = found[0].target  # the route's first target, as a request would try it
    counter = _counter(target.upstream.dialect)
    if counter is None:
        return estimate_input_tokens(chat)
    build, parse = counter
    call = build(chat, BuildOptions(model=target.model))
    try:
        upstream = await open_attempt(
            state.upstreams.via(target.upstream.proxy),
            target.upstream.url(call, target.model),
            target.upstream.auth_headers + call.headers,
            call.body,
            state.settings.timeouts,
            get_dialect(target.upstream.dialect).classify_error,
        )
        try:
            return parse(await read_body(upstream, state.settings.timeouts))
        finally:
            upstream.release()
    except GatewayError as exc:
        if not exc.fallback_allowed:
            raise  # the request itself is wrong: another count would refuse it too
        return estimate_input_tokens(chat)  # the provider cannot count right now: estimate


@post("/v1/messages/count_tokens", status_code=200, include_in_schema=False)
async def count_tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    anthropic = get_dialect("anthropic")
    request_id = request_id_of(request)
    try:
        tokens = await _count(edge_state(request), request)
    except GatewayError as exc:
        return error_response(anthropic, exc, request_id)
    return Response(render_count(tokens), media_type="application/json", headers={"X-OmniRoute-Request-Id": request_id})
