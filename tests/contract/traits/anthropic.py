"""Anthropic Messages requests: sampling with top_k, tool strictness and error results, signed thinking history.

Not carried: seed, presence/frequency penalties, prompt_cache_key (no such fields), names of
JSON schemas (output_config.format has only the schema), image detail, message names.
"""

REQUEST_CARRIES = frozenset(
    {
        # max_tokens is carried, but not its absence: Anthropic requires it, so a request without one
        # gains the default 4096 on the way (tests/unit/shared/formats/anthropic check the value itself).
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "user",  # metadata.user_id
        "service_tier",
        "parallel_tool_calls",  # tool_choice.disable_parallel_tool_use
        "tool_choice",
        "tool_strict",
        "tool_error",  # tool_result.is_error
        "reasoning",
        "tool_call_ids",
        # Thinking history is carried only when signed (thinking.signature, redacted_thinking.data):
        # Anthropic verifies every block, so unsigned reasoning from another provider is not sent. The
        # vocabulary has no trait for "signed only", so "thinking_history" is left out (it would fail
        # the pairs with openai_chat and ollama, whose reasoning has no signature) and the signed round
        # trip is checked in tests/unit/shared/formats/anthropic/test_anthropic_outbound.py.
        "image_url",
        "image_base64",
    }
)

# Scenarios (of other dialects' request fixtures) this dialect cannot express: scenario -> words of the 400.
UNSUPPORTED: dict[str, str] = {
    "json_mode": "not supported by anthropic",  # no schema-less JSON mode
}
