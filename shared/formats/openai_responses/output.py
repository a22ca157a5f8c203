"""Output items (`response.output`) <-> canonical result parts, and the response object around them.

A reasoning item becomes up to two Thinking parts: its summary (or reasoning text) as a thinking
block, then its `encrypted_content` as an opaque (redacted) one, the way Anthropic separates
thinking and redacted_thinking. Going back, a thinking part directly followed by an opaque one
is one reasoning item again. Summary parts are joined with a blank line.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, Text, Thinking, ToolCall
from shared.canonical.result import OutputPart
from shared.canonical.usage import Usage
from shared.formats.openai_responses.options import echo_options
from shared.formats.openai_responses.usage import usage_body

__all__ = [
    "item_id",
    "message_item",
    "output_items",
    "parse_output",
    "reasoning_parts",
    "reasoning_text",
    "response_object",
    "tool_call_item",
]

SUMMARY_SEPARATOR = "\n\n"


def item_id(prefix: str, response_id: str, index: int) -> str:
    """A stable id for the `index`-th output item of a response (`msg_`, `rs_`, `fc_` prefixes)."""
    base = response_id.removeprefix("resp_") or "0"
    return f"{prefix}_{base}_{index}"


def reasoning_text(item: dict[str, Any]) -> str:
    """Summary parts, then reasoning-text parts (open-weight models), joined by a blank line."""
    texts: list[str] = []
    for key, kind in (("summary", "summary_text"), ("content", "reasoning_text")):
        for part in item.get(key) or ():
            if isinstance(part, dict) and part.get("type") == kind and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return SUMMARY_SEPARATOR.join(text for text in texts if text)


def reasoning_parts(item: dict[str, Any]) -> list[Thinking]:
    parts: list[Thinking] = []
    text = reasoning_text(item)
    if text:
        parts.append(Thinking(text=text))
    encrypted = item.get("encrypted_content")
    if isinstance(encrypted, str) and encrypted:
        parts.append(Thinking(redacted=encrypted))
    return parts


def message_text(item: dict[str, Any]) -> tuple[str, bool]:
    """The text of a message item (output_text and refusal parts) and whether it refused."""
    texts: list[str] = []
    refused = False
    for part in item.get("content") or ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "output_text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
            refused = True
    return "".join(texts), refused


def tool_call_part(item: dict[str, Any]) -> ToolCall:
    arguments = item.get("arguments")
    return ToolCall(
        id=str(item.get("call_id") or item.get("id") or ""),
        name=str(item.get("name") or ""),
        arguments=arguments if isinstance(arguments, str) and arguments.strip() else "{}",
    )


def parse_output(output: list[Any]) -> tuple[list[OutputPart], bool, bool]:
    """Parts of a response's output, whether it called functions and whether it refused.

    Items of built-in tools (web search, file search, ...) are the provider's own business and
    carry nothing the canonical result can hold; they are skipped.
    """
    parts: list[OutputPart] = []
    calls = refused = False
    for item in output:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "reasoning":
            parts.extend(reasoning_parts(item))
        elif kind == "message":
            text, refusal = message_text(item)
            refused = refused or refusal
            if text:
                parts.append(Text(text))
        elif kind == "function_call":
            calls = True
            parts.append(tool_call_part(item))
    return parts, calls, refused


# --- rendering ------------------------------------------------------------------------------


def message_item(ident: str, text: str, status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    content = [] if status == "in_progress" else [part]
    return {"id": ident, "type": "message", "status": status, "content": content, "role": "assistant"}


def tool_call_item(ident: str, call: ToolCall, status: str = "completed") -> dict[str, Any]:
    arguments = call.arguments if status == "completed" else ""
    return {
        "id": ident,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call.id,
        "name": call.name,
    }


def _reasoning_item(ident: str, part: Thinking) -> dict[str, Any]:
    item: dict[str, Any] = {"id": ident, "type": "reasoning", "summary": []}
    if part.text:
        item["summary"] = [{"type": "summary_text", "text": part.text}]
    if part.redacted:
        item["encrypted_content"] = part.redacted
    return item


def output_items(parts: tuple[OutputPart, ...], response_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    mergeable: dict[str, Any] | None = None  # a summary-only reasoning item just written
    for part in parts:
        index = len(items)
        if isinstance(part, Thinking):
            if part.redacted and not part.text and mergeable is not None:
                mergeable["encrypted_content"] = part.redacted
                mergeable = None
                continue
            if not part.text and not part.redacted:
                continue
            items.append(_reasoning_item(item_id("rs", response_id, index), part))
            mergeable = items[-1] if not part.redacted else None
            continue
        mergeable = None
        if isinstance(part, Text):
            items.append(message_item(item_id("msg", response_id, index), part.text))
        else:
            items.append(tool_call_item(item_id("fc", response_id, index), part))
    return items


def response_object(
    *,
    ident: str,
    model: str,
    created: int,
    request: ChatRequest,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
    incomplete: dict[str, str] | None = None,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A `response` object as the API returns it (request parameters echoed back)."""
    echo = echo_options(request)
    return {
        "id": ident,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": None,
        "max_output_tokens": request.max_tokens,
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": echo["parallel_tool_calls"],
        "previous_response_id": None,
        "prompt_cache_key": request.prompt_cache_key,
        "reasoning": echo["reasoning"],
        "safety_identifier": None,
        "service_tier": request.service_tier or "default",
        "store": False,
        "temperature": 1.0 if request.temperature is None else request.temperature,
        "text": echo["text"],
        "tool_choice": echo["tool_choice"],
        "tools": echo["tools"],
        "top_logprobs": 0,
        "top_p": 1.0 if request.top_p is None else request.top_p,
        "truncation": "disabled",
        "usage": usage_body(usage) if usage is not None else None,
        "user": request.user,
        "metadata": request.metadata or {},
    }
