"""What the gateway's own settings change in a canonical chat request: thinking budget, system prompt.

Both are off by default (thinking `passthrough`, system prompt disabled): then a request leaves
exactly as the client sent it. When a setting does change a request, the edge builds the
provider's request from the canonical form instead of forwarding the client's bytes.

Thinking budget modes (they only touch requests that carry reasoning settings; a request that
says nothing about reasoning is left to the model's default, one that switches reasoning off
stays off):
- `passthrough`: nothing changes.
- `auto`: the client's budget and effort are dropped and reasoning stays on, so every provider
  uses its own default amount (Gemini's dynamic budget `-1`, OpenAI effort `medium`, Anthropic
  its default budget of 8192 tokens). Whether the thoughts are shown is kept.
- `custom`: the budget becomes `tokens` (OpenAI-style providers get the effort that budget maps
  to: at most 2048 low, at most 12288 medium, above high).
- `off`: reasoning the client asked for is switched off.

System prompt modes, when enabled: `prepend` puts the prompt before the client's system
instructions (as the first message), `append` right after the last system/developer message that
opens the conversation (first if there is none), `replace` drops every system/developer message
and sends the prompt alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from shared.canonical.chat import ChatRequest, Message, ReasoningConfig, Text
from shared.config.gateway_settings import SystemPromptSettings, ThinkingBudgetSettings

__all__ = ["RequestRewrite", "apply_system_prompt", "apply_thinking_budget"]

_SYSTEM_ROLES = ("system", "developer")


def _asks_for_reasoning(reasoning: ReasoningConfig) -> bool:
    return not (reasoning.enabled is False or reasoning.effort == "none" or reasoning.budget_tokens == 0)


def apply_thinking_budget(chat: ChatRequest, settings: ThinkingBudgetSettings) -> ChatRequest:
    """The request with the thinking budget mode applied; the same object when nothing changes."""
    reasoning = chat.reasoning
    if settings.mode == "passthrough" or reasoning is None or not _asks_for_reasoning(reasoning):
        return chat
    if settings.mode == "off":
        wanted = ReasoningConfig(enabled=False)
    elif settings.mode == "custom" and settings.tokens is not None:
        wanted = ReasoningConfig(
            enabled=True, budget_tokens=settings.tokens, include_thoughts=reasoning.include_thoughts
        )
    elif settings.mode == "auto":
        wanted = ReasoningConfig(enabled=True, include_thoughts=reasoning.include_thoughts)
    else:  # custom without tokens: the control plane refuses it; a hand-edited row changes nothing
        return chat
    return chat if wanted == reasoning else msgspec.structs.replace(chat, reasoning=wanted)


def apply_system_prompt(chat: ChatRequest, settings: SystemPromptSettings) -> ChatRequest:
    """The request with the gateway's system prompt applied; the same object when disabled or empty."""
    if not settings.enabled or not settings.prompt:
        return chat
    prompt = Message(role="system", content=(Text(settings.prompt),))
    messages = chat.messages
    if settings.mode == "replace":
        kept = tuple(message for message in messages if message.role not in _SYSTEM_ROLES)
        return msgspec.structs.replace(chat, messages=(prompt, *kept))
    at = 0
    if settings.mode == "append":
        while at < len(messages) and messages[at].role in _SYSTEM_ROLES:
            at += 1
    return msgspec.structs.replace(chat, messages=(*messages[:at], prompt, *messages[at:]))


@dataclass(frozen=True, slots=True)
class RequestRewrite:
    """Both settings of one snapshot; `active` is False when neither can change a request."""

    thinking: ThinkingBudgetSettings
    system_prompt: SystemPromptSettings

    @property
    def active(self) -> bool:
        return self.thinking.mode != "passthrough" or (self.system_prompt.enabled and bool(self.system_prompt.prompt))

    def apply(self, chat: ChatRequest) -> ChatRequest:
        return apply_system_prompt(apply_thinking_budget(chat, self.thinking), self.system_prompt)
