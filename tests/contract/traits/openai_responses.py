"""OpenAI Responses requests: sampling without stop/seed/penalties, named JSON schemas, reasoning items.

Not carried: stop sequences, seed, penalties, top_k (no such fields), message names, tool result
errors, and tool strictness as the canonical "unspecified" (omitted `strict` means true here, so a
tool without stated strictness is sent as `strict: false`). Reasoning items carry their summary
(thinking history) and `encrypted_content` (redacted thinking), not a per-block signature.
"""

REQUEST_CARRIES = frozenset(
    {
        "max_tokens",  # max_output_tokens
        "temperature",
        "top_p",
        "user",
        "service_tier",
        "prompt_cache_key",
        "parallel_tool_calls",
        "tool_choice",
        "response_format_name",  # text.format json_schema name and strict
        "reasoning",
        "tool_call_ids",  # call_id
        "thinking_history",  # reasoning items' summaries
        "redacted_thinking",  # reasoning items' encrypted_content
        "image_url",
        "image_base64",
        "image_detail",
    }
)

# Scenarios (of other dialects' request fixtures) this dialect cannot express: scenario -> words of the 400.
UNSUPPORTED: dict[str, str] = {
    "sampling": "Stop sequences are not supported by openai_responses",
}
