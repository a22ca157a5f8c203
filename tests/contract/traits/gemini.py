"""Gemini generateContent requests: sampling with top_k, penalties, seed, tool choice, thinking
config, thought signatures on thoughts and function calls, images inline or by file URI, tool
errors (`{"error": ...}` responses).

Not carried: tool call ids (the Gemini API rejects `id` in a request's functionCall and
functionResponse parts and pairs them by name and order), user, service tier, prompt cache key,
parallel_tool_calls, tool strictness, JSON schema names, image detail, message names.
"""

REQUEST_CARRIES = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "seed",
        "penalties",
        "tool_choice",
        "reasoning",
        "thinking_history",
        "thinking_signature",
        "tool_signature",
        "tool_error",
        "image_url",
        "image_base64",
    }
)

# Scenarios (of other dialects' request fixtures) this dialect cannot express: scenario -> words of the 400.
UNSUPPORTED: dict[str, str] = {}
