"""OpenAI Chat requests: sampling, penalties, seed, user, tool strictness, named JSON schemas."""

REQUEST_CARRIES = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "penalties",
        "user",
        "service_tier",
        "prompt_cache_key",
        "parallel_tool_calls",
        "tool_choice",
        "tool_strict",
        "response_format_name",
        "reasoning",
        "tool_call_ids",
        "thinking_history",  # as reasoning_content, sent back only to providers that need it
        "image_url",
        "image_base64",
        "image_detail",
        "message_names",
    }
)

# Scenarios (of other dialects' request fixtures) this dialect cannot express: scenario -> words of the 400.
UNSUPPORTED: dict[str, str] = {}
