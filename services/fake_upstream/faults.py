"""Scripted faults for the fake upstream, chosen per request.

A fault can be asked for three ways (first match wins):
1. the `X-Fake-Fault` request header, for direct calls: `status=503; retry_after=2`;
2. a directive in the last user message, which survives any gateway translation:
   `[[fake status=429 retry_after=2]]`;
3. a rule installed through `POST /_fake/script` matching the model and/or the API key, applied
   to the next `times` matching requests (all of them when `times` is absent).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["Fault", "FaultScript", "parse_directive"]

_DIRECTIVE = re.compile(r"\[\[fake\s+([^\]]*)\]\]")
_PAIR = re.compile(r"([a-z_]+)\s*=\s*([^\s;,\]]+)")


@dataclass(frozen=True, slots=True)
class Fault:
    status: int | None = None  # answer with this HTTP status and an error body
    retry_after: float | None = None  # Retry-After header (seconds) on an error answer
    delay_ms: int = 0  # pause before the status line: a stall before the first byte
    stall_after_headers_ms: int = 0  # for streams: headers out, then silence before the first event
    chunk_delay_ms: int = 0  # pause between stream events
    cut_after: int | None = None  # abort the connection after this many stream events
    garbage: bool = False  # emit malformed frames in the stream
    noise: bool = False  # add comment, id: and retry: lines, as some OpenAI-compatible vendors do
    words: int | None = None  # length of the deterministic answer, in words
    upstream_error_after: int | None = None  # send an in-band error event after this many events
    tool_calls: int | None = None  # how many (parallel) tool calls to make when tools are offered

    @property
    def is_empty(self) -> bool:
        return self == Fault()


_INT_FIELDS = {
    "status",
    "delay_ms",
    "stall_after_headers_ms",
    "chunk_delay_ms",
    "cut_after",
    "words",
    "upstream_error_after",
    "tool_calls",
}


def _from_pairs(text: str) -> Fault:
    values: dict[str, Any] = {}
    for name, raw in _PAIR.findall(text):
        name = "delay_ms" if name in ("stall_ms", "latency_ms") else name
        if name in _INT_FIELDS:
            values[name] = int(raw)
        elif name == "retry_after":
            values[name] = float(raw)
        elif name in ("garbage", "noise"):
            values[name] = raw.lower() in ("1", "true", "yes")
    return Fault(**values)


def parse_directive(header: str | None, last_user_text: str) -> Fault:
    if header:
        return _from_pairs(header)
    match = _DIRECTIVE.search(last_user_text)
    return _from_pairs(match.group(1)) if match else Fault()


def key_fingerprint(api_key: str | None) -> str | None:
    return hashlib.sha256(api_key.encode()).hexdigest()[:12] if api_key else None


@dataclass(slots=True)
class _Rule:
    fault: Fault
    model: str | None
    key_fingerprint: str | None
    remaining: int | None


@dataclass(slots=True)
class FaultScript:
    rules: list[_Rule] = field(default_factory=list)

    def add(self, fault: dict[str, Any], model: str | None, api_key: str | None, times: int | None) -> None:
        self.rules.append(
            _Rule(_from_pairs(" ".join(f"{k}={v}" for k, v in fault.items())), model, key_fingerprint(api_key), times)
        )

    def clear(self) -> None:
        self.rules.clear()

    def take(self, model: str, fingerprint: str | None) -> Fault:
        for rule in self.rules:
            if rule.model is not None and rule.model != model:
                continue
            if rule.key_fingerprint is not None and rule.key_fingerprint != fingerprint:
                continue
            if rule.remaining is not None:
                if rule.remaining <= 0:
                    continue
                rule.remaining -= 1
            return replace(rule.fault)
        return Fault()
