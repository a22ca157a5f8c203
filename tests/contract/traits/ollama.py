"""Ollama chat requests: sampling in `options`, `think`, `format`, inline base64 images, tool call ids (0.12.10+)."""

REQUEST_CARRIES = frozenset(
    {
        "max_tokens",  # options.num_predict
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "seed",
        "penalties",  # options.presence_penalty / frequency_penalty
        "reasoning",  # think
        "tool_call_ids",  # tool_calls[].id and tool messages' tool_call_id (synthesised when a client omits them)
        "thinking_history",  # assistant `thinking`
        "image_base64",
    }
)

# Scenarios (of other dialects' request fixtures) this dialect cannot express: scenario -> words of the 400.
UNSUPPORTED: dict[str, str] = {
    "image_url": "image URLs are not supported by ollama",
    "tool_choice_named": "not supported by ollama",
}
