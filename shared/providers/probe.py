"""A provider connection's live test: the smallest request the edge itself would send, and its verdict.

The request goes through the connection's dialect exactly as a client request would (the same
`build_request`, URL and auth headers as the edge's `Upstream`); only the sending is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import GatewayError
from shared.formats.base import BuildOptions, UpstreamCall
from shared.formats.registry import get_dialect
from shared.routing.config import Upstream

__all__ = ["PROBE_MAX_TOKENS", "ProbeCall", "default_model", "probe_call", "scrubbed"]

PROBE_MAX_TOKENS = 16
_PROMPT = "Reply with the single word: pong"


@dataclass(frozen=True, slots=True)
class ProbeCall:
    url: str
    headers: tuple[tuple[str, str], ...]  # auth included: never log or answer these
    body: bytes


def default_model(upstream: Upstream) -> str | None:
    """The model a test uses when none is given: the connection's default, else its first listed one."""
    connection = upstream.connection
    if connection.default_model:
        return connection.default_model
    if connection.models:
        return connection.models[0]
    return upstream.spec.models[0] if upstream.spec.models else None


def probe_call(upstream: Upstream, model: str) -> ProbeCall:
    """The upstream request; raises GatewayError when the dialect cannot build it."""
    chat = ChatRequest(
        model=model,
        messages=(Message(role="user", content=(Text(_PROMPT),)),),
        max_tokens=PROBE_MAX_TOKENS,
        stream=False,
    )
    dialect = get_dialect(upstream.dialect)
    call: UpstreamCall = dialect.build_request(
        chat, BuildOptions(model=model, echo_reasoning=upstream.spec.echo_reasoning)
    )
    return ProbeCall(upstream.url(call, model), upstream.auth_headers + call.headers, call.body)


def scrubbed(error: GatewayError, secret: str | None) -> str:
    """The error's client-safe message, with the connection's own key cut out should the upstream quote it."""
    message = error.message
    if secret and len(secret) >= 4:
        message = message.replace(secret, "[REDACTED]")
    return message
