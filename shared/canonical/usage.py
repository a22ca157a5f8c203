"""Token usage exactly as an upstream reported it, in one convention.

Convention (OpenAI's): `input_tokens` counts the whole prompt, including the parts served from or
written to a cache (`cached_tokens`, `cache_creation_tokens` are subsets of it); `output_tokens`
counts everything generated, including reasoning (`reasoning_tokens` is a subset of it). Dialects
that report these separately (Anthropic input, Gemini candidates/thoughts) convert both ways, so a
round trip is exact.
"""

from __future__ import annotations

import msgspec

__all__ = ["Usage"]


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    reported: bool = False  # False when the upstream sent no usage at all
