"""The plan made before anything is sent: policy, route, session id and key, key limits, max_tokens cap."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from services.edge.pipeline.plan import Plan, make_plan, preferred_first
from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.errors import BadRequest, NotFound, PermissionDenied
from shared.config.snapshot import ComboConfig, ComboStep, ConnectionConfig, KeyConfig, PolicyConfig, Snapshot
from shared.routing.candidates import Availability, candidates
from shared.routing.config import EdgeConfig
from shared.routing.order import Signals
from shared.routing.route import resolve_route

KEY = KeyConfig(id="key-1", name="client", key_hash="ab" * 32, max_requests_per_minute=30)
OTHER_KEY = KeyConfig(id="key-2", name="other", key_hash="cd" * 32)


def conn(ident: str, provider: str, priority: int = 1) -> ConnectionConfig:
    return ConnectionConfig(id=ident, provider=provider, name=ident, priority=priority, api_key="k")


def config(
    *connections: ConnectionConfig,
    policies: tuple[PolicyConfig, ...] = (),
    combos: tuple[ComboConfig, ...] = (),
    settings: Mapping[str, object] | None = None,
) -> EdgeConfig:
    return EdgeConfig(
        Snapshot(
            version=1,
            published_at=0,
            connections=connections or (conn("oa1", "openai", 1), conn("oa2", "openai", 2), conn("gq1", "groq")),
            policies=policies,
            combos=combos,
            settings=dict(settings or {}),
        )
    )


def request(*messages: tuple[str, str], model: str = "openai/gpt-4o", max_tokens: int | None = None) -> ChatRequest:
    turns = messages or (("user", "Hello"),)
    return ChatRequest(
        model=model,
        messages=tuple(Message(role, (Text(text),)) for role, text in turns),  # type: ignore[arg-type]
        max_tokens=max_tokens,
    )


def plan(
    chat: ChatRequest | None = None,
    headers: Mapping[str, str] | None = None,
    cfg: EdgeConfig | None = None,
    key: KeyConfig | None = KEY,
) -> Plan:
    chat = chat or request()
    return make_plan(cfg or config(), key, chat, chat.model, headers or {})


# --- sessions -------------------------------------------------------------------------------------


def test_the_session_id_comes_from_x_session_id() -> None:
    made = plan(headers={"x-session-id": "  conversation-42 "})
    assert made.session_id == "conversation-42"
    assert made.session_key == "key-1:conversation-42"


def test_the_underscore_header_is_accepted_too() -> None:
    assert plan(headers={"x_session_id": "abc"}).session_id == "abc"
    assert plan(headers={"x-session-id": "dash", "x_session_id": "underscore"}).session_id == "dash"


@pytest.mark.parametrize("value", ["", "   ", "x" * 201, "tab\there", "new\nline"])
def test_an_invalid_session_id_is_a_400(value: str) -> None:
    with pytest.raises(BadRequest) as raised:
        plan(headers={"x-session-id": value})
    assert raised.value.param == "X-Session-Id"
    assert raised.value.status == 400


def test_a_session_id_of_200_characters_is_fine() -> None:
    assert plan(headers={"x-session-id": "s" * 200}).session_id == "s" * 200


def test_without_a_header_the_session_is_a_fingerprint_of_the_conversation() -> None:
    base = plan(request(("system", "Be brief."), ("user", "What is 2+2?")))
    assert base.session_id is not None
    assert base.session_id.startswith("fp-") and len(base.session_id) == 3 + 24
    follow_up = request(
        ("system", "Be brief."),
        ("user", "What is 2+2?"),
        ("assistant", "4"),
        ("user", "And 3+3?"),
    )
    assert plan(follow_up).session_id == base.session_id  # later turns do not change it
    assert plan(request(("system", "Be brief."), ("user", "What is 2+2?"))).session_id == base.session_id


@pytest.mark.parametrize(
    "other",
    [
        request(("system", "Be brief."), ("user", "What is 2+3?")),  # another first user message
        request(("system", "Be verbose."), ("user", "What is 2+2?")),  # another system prompt
        request(("user", "What is 2+2?")),  # no system prompt
        request(("system", "Be brief."), ("user", "What is 2+2?"), model="openai/gpt-4o-mini"),  # another model
    ],
)
def test_the_fingerprint_differs_for_another_conversation(other: ChatRequest) -> None:
    base = plan(request(("system", "Be brief."), ("user", "What is 2+2?")))
    assert plan(other).session_id != base.session_id


def test_a_developer_message_counts_as_the_system_prompt() -> None:
    system = plan(request(("system", "Rules."), ("user", "Hi")))
    developer = plan(request(("developer", "Rules."), ("user", "Hi")))
    assert system.session_id == developer.session_id


def test_the_session_key_is_scoped_to_the_api_key() -> None:
    headers = {"x-session-id": "same"}
    assert plan(headers=headers).session_key == "key-1:same"
    assert plan(headers=headers, key=OTHER_KEY).session_key == "key-2:same"
    assert plan(headers=headers, key=None).session_key == "anonymous:same"


def test_no_session_key_when_the_route_has_one_connection() -> None:
    single = config(conn("oa1", "openai"), conn("gq1", "groq"))
    implicit = plan(cfg=single)
    assert implicit.session_key is None
    assert implicit.session_id is None  # nothing to pin and nothing named: no header either
    named = plan(cfg=single, headers={"x-session-id": "mine"})
    assert named.session_id == "mine"  # echoed, since the caller named it
    assert named.session_key is None


def test_a_session_key_when_a_combo_spans_two_providers() -> None:
    both = ComboConfig(
        id="c", name="both", steps=(ComboStep(model="openai/gpt-4o"), ComboStep(model="groq/llama-3.1-8b-instant"))
    )
    cfg = config(conn("oa1", "openai"), conn("gq1", "groq"), combos=(both,))
    made = plan(request(model="both"), cfg=cfg)
    assert made.needs.connections == ["oa1", "gq1"]
    assert made.session_key is not None and made.session_key == f"key-1:{made.session_id}"


# --- policies and caps ----------------------------------------------------------------------------


def test_a_deny_policy_is_permission_denied() -> None:
    deny = PolicyConfig(id="p", name="no-gpt-4o", models=("openai/gpt-4o",), effect="deny")
    with pytest.raises(PermissionDenied) as raised:
        plan(cfg=config(policies=(deny,)))
    assert raised.value.code == "policy_denied"
    assert raised.value.status == 403
    assert raised.value.param == "model"
    assert "no-gpt-4o" in raised.value.message
    allowed = plan(request(model="openai/gpt-4o-mini"), cfg=config(policies=(deny,)))
    assert not allowed.policy.deny


def test_the_policy_is_checked_before_the_model_exists() -> None:
    deny_all = PolicyConfig(id="p", name="closed", effect="deny")
    with pytest.raises(PermissionDenied):
        plan(request(model="nobody/nothing"), cfg=config(policies=(deny_all,)))
    with pytest.raises(NotFound) as raised:
        plan(request(model="nobody/nothing"))
    assert raised.value.code == "model_not_found"


def test_a_max_tokens_cap_lowers_what_the_caller_asked() -> None:
    cap = PolicyConfig(id="p", name="short", max_tokens=100)
    cfg = config(policies=(cap,))
    asked_more = plan(request(max_tokens=1_000), cfg=cfg)
    assert asked_more.chat.max_tokens == 100
    assert asked_more.capped
    asked_nothing = plan(request(), cfg=cfg)
    assert asked_nothing.chat.max_tokens == 100
    assert asked_nothing.capped
    chat = request(max_tokens=50)
    asked_less = plan(chat, cfg=cfg)
    assert asked_less.chat is chat
    assert not asked_less.capped
    at_cap = plan(request(max_tokens=100), cfg=cfg)
    assert not at_cap.capped
    uncapped = plan(request(max_tokens=5_000))
    assert uncapped.chat.max_tokens == 5_000 and not uncapped.capped


def test_the_cap_keeps_everything_else_of_the_request() -> None:
    chat = request(("system", "S"), ("user", "U"), max_tokens=900)
    capped = plan(chat, cfg=config(policies=(PolicyConfig(id="p", name="short", max_tokens=10),))).chat
    assert capped.messages == chat.messages and capped.model == chat.model


# --- key limits -----------------------------------------------------------------------------------


def test_key_limits_come_from_the_key_and_the_defaults() -> None:
    cfg = config(settings={"rateLimit": {"keyDefaults": {"tokensPerDay": 1_000_000}}})
    made = plan(cfg=cfg)
    assert [(limit.name, limit.rate.limit) for limit in made.key_limits] == [
        ("k:{key-1}:rpm", 30),
        ("k:{key-1}:tpd", 1_000_000),
    ]
    assert made.estimated_tokens > 0


def test_no_key_limits_when_disabled_or_without_a_key() -> None:
    assert plan(cfg=config(settings={"rateLimit": {"enabled": False}})).key_limits == ()
    assert plan(key=None).key_limits == ()
    assert plan(key=OTHER_KEY).key_limits == ()  # no limits of its own and no defaults


# --- preferred providers --------------------------------------------------------------------------


def test_preferred_providers_go_first_in_the_policys_order() -> None:
    steps = (
        ComboStep(model="openai/gpt-4o"),
        ComboStep(model="anthropic/claude-sonnet-4-5"),
        ComboStep(model="groq/llama-3.1-8b-instant"),
    )
    cfg = config(
        conn("oa1", "openai"),
        conn("oa2", "openai", 2),
        conn("an1", "anthropic"),
        conn("gq1", "groq"),
        combos=(ComboConfig(id="c", name="all", steps=steps),),
    )
    route = resolve_route(cfg, "all")
    assert route is not None
    found, _ = candidates(route, cfg, Signals(), Availability())

    def order(providers: tuple[str, ...]) -> list[str]:
        return [c.target.upstream.connection.id for c in preferred_first(found, providers)]

    assert order(()) == ["oa1", "oa2", "an1", "gq1"]
    assert order(("groq",)) == ["gq1", "oa1", "oa2", "an1"]
    assert order(("groq", "anthropic")) == ["gq1", "an1", "oa1", "oa2"]
    assert order(("anthropic", "openai")) == ["an1", "oa1", "oa2", "gq1"]  # a provider's own order is kept
    assert order(("mistral",)) == ["oa1", "oa2", "an1", "gq1"]
    assert preferred_first(found, ()) is found
