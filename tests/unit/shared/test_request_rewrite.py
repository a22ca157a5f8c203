"""The thinking-budget and system-prompt settings applied to canonical requests."""

from __future__ import annotations

import pytest

from shared.canonical.chat import ChatRequest, Message, ReasoningConfig, Text
from shared.config.gateway_settings import SystemPromptSettings, ThinkingBudgetSettings
from shared.request_rewrite import RequestRewrite, apply_system_prompt, apply_thinking_budget


def message(role: str, text: str) -> Message:
    return Message(role=role, content=(Text(text),))  # type: ignore[arg-type]


def chat(*messages: Message, reasoning: ReasoningConfig | None = None) -> ChatRequest:
    return ChatRequest(model="m", messages=messages or (message("user", "hi"),), reasoning=reasoning)


def roles_and_texts(request: ChatRequest) -> list[tuple[str, str]]:
    return [(m.role, "".join(p.text for p in m.content if isinstance(p, Text))) for m in request.messages]


ASKS = ReasoningConfig(effort="high", budget_tokens=30_000, enabled=True, include_thoughts=False)


@pytest.mark.parametrize("mode", ["passthrough", "auto", "custom", "off"])
def test_requests_without_reasoning_settings_are_left_alone(mode: str) -> None:
    request = chat()
    assert apply_thinking_budget(request, ThinkingBudgetSettings(mode=mode, tokens=1000)) is request  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["auto", "custom"])
@pytest.mark.parametrize(
    "disabled",
    [ReasoningConfig(enabled=False), ReasoningConfig(effort="none"), ReasoningConfig(budget_tokens=0)],
)
def test_reasoning_switched_off_by_the_client_stays_off(mode: str, disabled: ReasoningConfig) -> None:
    request = chat(reasoning=disabled)
    assert apply_thinking_budget(request, ThinkingBudgetSettings(mode=mode, tokens=1000)) is request  # type: ignore[arg-type]


def test_passthrough_changes_nothing() -> None:
    request = chat(reasoning=ASKS)
    assert apply_thinking_budget(request, ThinkingBudgetSettings()) is request


def test_custom_sets_the_budget_and_keeps_whether_thoughts_are_shown() -> None:
    changed = apply_thinking_budget(chat(reasoning=ASKS), ThinkingBudgetSettings(mode="custom", tokens=4096))
    assert changed.reasoning == ReasoningConfig(enabled=True, budget_tokens=4096, include_thoughts=False)
    effort_only = apply_thinking_budget(
        chat(reasoning=ReasoningConfig(effort="low")), ThinkingBudgetSettings(mode="custom", tokens=9000)
    )
    assert effort_only.reasoning == ReasoningConfig(enabled=True, budget_tokens=9000)


def test_custom_without_tokens_changes_nothing() -> None:
    request = chat(reasoning=ASKS)
    assert apply_thinking_budget(request, ThinkingBudgetSettings(mode="custom")) is request


def test_auto_drops_the_clients_amount_and_keeps_reasoning_on() -> None:
    changed = apply_thinking_budget(chat(reasoning=ASKS), ThinkingBudgetSettings(mode="auto"))
    assert changed.reasoning == ReasoningConfig(enabled=True, include_thoughts=False)
    already = chat(reasoning=ReasoningConfig(enabled=True))
    assert apply_thinking_budget(already, ThinkingBudgetSettings(mode="auto")) is already


def test_off_switches_requested_reasoning_off() -> None:
    changed = apply_thinking_budget(chat(reasoning=ASKS), ThinkingBudgetSettings(mode="off"))
    assert changed.reasoning == ReasoningConfig(enabled=False)


CONVERSATION = (
    message("system", "client system"),
    message("developer", "client developer"),
    message("user", "hi"),
    message("assistant", "hello"),
    message("system", "late system"),
    message("user", "again"),
)


def test_a_disabled_or_empty_prompt_changes_nothing() -> None:
    request = chat(*CONVERSATION)
    assert apply_system_prompt(request, SystemPromptSettings(prompt="x")) is request
    assert apply_system_prompt(request, SystemPromptSettings(enabled=True)) is request


def test_prepend_goes_first() -> None:
    changed = apply_system_prompt(chat(*CONVERSATION), SystemPromptSettings(enabled=True, prompt="G"))
    assert roles_and_texts(changed)[:3] == [
        ("system", "G"),
        ("system", "client system"),
        ("developer", "client developer"),
    ]
    assert len(changed.messages) == len(CONVERSATION) + 1
    assert changed.system_text == "G\n\nclient system\n\nclient developer\n\nlate system"


def test_append_goes_after_the_opening_instructions() -> None:
    changed = apply_system_prompt(chat(*CONVERSATION), SystemPromptSettings(enabled=True, prompt="G", mode="append"))
    assert roles_and_texts(changed)[:4] == [
        ("system", "client system"),
        ("developer", "client developer"),
        ("system", "G"),
        ("user", "hi"),
    ]
    bare = apply_system_prompt(
        chat(message("user", "hi")), SystemPromptSettings(enabled=True, prompt="G", mode="append")
    )
    assert roles_and_texts(bare) == [("system", "G"), ("user", "hi")]


def test_replace_drops_every_client_instruction() -> None:
    changed = apply_system_prompt(chat(*CONVERSATION), SystemPromptSettings(enabled=True, prompt="G", mode="replace"))
    assert roles_and_texts(changed) == [
        ("system", "G"),
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "again"),
    ]


def test_the_combined_rewrite_is_inactive_by_default() -> None:
    assert not RequestRewrite(ThinkingBudgetSettings(), SystemPromptSettings()).active
    assert not RequestRewrite(ThinkingBudgetSettings(), SystemPromptSettings(enabled=True)).active
    rewrite = RequestRewrite(ThinkingBudgetSettings(mode="off"), SystemPromptSettings(enabled=True, prompt="G"))
    assert rewrite.active
    changed = rewrite.apply(chat(reasoning=ASKS))
    assert changed.reasoning == ReasoningConfig(enabled=False)
    assert roles_and_texts(changed)[0] == ("system", "G")
