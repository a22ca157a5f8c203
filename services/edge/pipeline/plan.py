"""Before anything is sent: the policy that applies, the route, the session, and what admission reads.

All of it comes from the in-memory snapshot and the request itself (no I/O).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from shared.budget_estimate import highest_price, reservation_micros
from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import BadRequest, NotFound, PermissionDenied
from shared.config.budgets import KeyBudget, key_budgets
from shared.config.limits import NamedLimit, key_limits
from shared.config.snapshot import KeyConfig
from shared.formats.estimate import estimate_input_tokens
from shared.routing.candidates import Candidate, Needs, needs
from shared.routing.config import EdgeConfig
from shared.routing.policy import PolicyDecision, evaluate
from shared.routing.route import Route, resolve_route

__all__ = ["Plan", "make_plan", "preferred_first"]

T = TypeVar("T")

_MAX_SESSION_ID = 200
_MEMO_MAX = 10_000  # distinct models remembered per snapshot (unknown ones included, so bounded)
_SESSION_HEADERS = ("x-session-id", "x_session_id")


@dataclass(frozen=True, slots=True)
class Plan:
    route: Route
    needs: Needs
    policy: PolicyDecision
    chat: ChatRequest  # with the policy's max_tokens cap applied
    capped: bool  # the cap changed the request: it must be rebuilt, not passed through
    session_id: str | None  # shown to the caller as X-OmniRoute-Session-Id
    session_key: str | None  # the fleet's key for it, scoped to the API key; None when routing has no choice
    key_limits: tuple[NamedLimit, ...]
    estimated_tokens: int
    budget: KeyBudget | None = None  # the key's USD budget, when it has one
    budget_reservation: int = 0  # micro-dollars reserved against it at admission


def _text(message: Message) -> str:
    return "".join(part.text for part in message.content if isinstance(part, Text))


def _fingerprint(chat: ChatRequest) -> str:
    """A conversation's identity without a session header: model, system prompt, first user message."""
    system = "\n".join(_text(m) for m in chat.messages if m.role in ("system", "developer"))
    first_user = next((_text(m) for m in chat.messages if m.role == "user"), "")
    digest = hashlib.sha256("\x00".join((chat.model, system, first_user)).encode()).hexdigest()
    return "fp-" + digest[:24]


def _named_session(headers: Mapping[str, str]) -> str | None:
    """The session the caller named, if any."""
    for name in _SESSION_HEADERS:
        raw = headers.get(name)
        if raw is None:
            continue
        value = raw.strip()
        if not value or len(value) > _MAX_SESSION_ID or not value.isprintable():
            raise BadRequest(f"X-Session-Id must be 1 to {_MAX_SESSION_ID} printable characters.", param="X-Session-Id")
        return value
    return None


def _remembered(config: EdgeConfig, kind: str, name: str, compute: Callable[[], T]) -> T:
    """A value derived from the snapshot alone, computed once per snapshot."""
    memo = config.memo
    slot = (kind, name)
    if slot in memo:
        found: T = memo[slot]
        return found
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    value = memo[slot] = compute()
    return value


def _routing(config: EdgeConfig, model: str) -> tuple[Route, Needs, bool] | None:
    """The model's route, what admission reads for it, and whether any of its connections limits tokens."""
    route = resolve_route(config, model)
    if route is None:
        return None
    wanted = needs(route, config)
    token_limited = any(
        upstream.connection.max_tokens_per_minute
        for provider in wanted.providers
        for upstream in config.upstreams_of(provider)
    )
    return route, wanted, token_limited


def _key_limits(config: EdgeConfig, key: KeyConfig | None) -> tuple[NamedLimit, ...]:
    if key is None or not config.rate_limits.enabled:
        return ()
    return _remembered(config, "limits", key.id, lambda: tuple(key_limits(key, config.rate_limits.key_defaults)))


def _key_budget(config: EdgeConfig, key: KeyConfig | None) -> KeyBudget | None:
    if key is None:
        return None
    return _remembered(config, "budgets", "", lambda: key_budgets(config.settings)).get(key.id)


def _capped(chat: ChatRequest, cap: int | None) -> ChatRequest:
    if cap is None or (chat.max_tokens is not None and chat.max_tokens <= cap):
        return chat
    return msgspec.structs.replace(chat, max_tokens=cap)


def make_plan(
    config: EdgeConfig, key: KeyConfig | None, chat: ChatRequest, model: str, headers: Mapping[str, str]
) -> Plan:
    key_id = key.id if key is not None else None
    policy = evaluate(config.policies, model, key_id)
    if policy.deny:
        raise PermissionDenied(
            f"The policy '{policy.name}' does not allow this request.", code="policy_denied", param="model"
        )
    routing = _remembered(config, "route", model, lambda: _routing(config, model))
    if routing is None:
        raise NotFound(
            f"The model '{model[:200]}' does not exist or you do not have access to it.",
            code="model_not_found",
            param="model",
        )
    route, wanted, connection_tokens = routing
    capped = _capped(chat, policy.max_tokens)
    named = _named_session(headers)
    choice = len(wanted.connections) > 1  # a session only matters where routing has a choice
    session_id = named if named is not None else _fingerprint(chat) if choice else None
    session_key = f"{key_id or 'anonymous'}:{session_id}" if choice else None
    limits = _key_limits(config, key)
    budget = _key_budget(config, key)
    estimated = (
        estimate_input_tokens(chat)
        if budget is not None or connection_tokens or any(limit.unit == "tokens" for limit in limits)
        else 0
    )
    reservation = 0
    if budget is not None:
        price = _remembered(config, "price", model, lambda: highest_price(config, route))
        reservation = reservation_micros(price, estimated, capped.max_tokens)
    return Plan(
        route=route,
        needs=wanted,
        policy=policy,
        chat=capped,
        capped=capped is not chat,
        session_id=session_id,
        session_key=session_key,
        key_limits=limits,
        estimated_tokens=estimated,
        budget=budget,
        budget_reservation=reservation,
    )


def preferred_first(found: list[Candidate], providers: tuple[str, ...]) -> list[Candidate]:
    """A policy's preferred providers go first, in the policy's order; the rest keep theirs."""
    if not providers:
        return found
    rank = {provider: i for i, provider in enumerate(providers)}
    return sorted(found, key=lambda c: rank.get(c.step.provider, len(rank)))
