"""One OpenAI chat call through the edge, as a client would make it, with what the edge reports.

Latency is measured here (the client's view); tokens and cost come from the edge's
`X-OmniRoute-Tokens-In`/`-Out` and `X-OmniRoute-Response-Cost` headers (SPEC §2), falling back
to the body's `usage` for tokens. A failed call is an answer with `error` set, never an exception.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from shared import jsonx

__all__ = ["EdgeAnswer", "EdgeClient"]

_MAX_ERROR_CHARS = 500
_KEY_PROPAGATION_SECONDS = 5.0  # a freshly minted key reaches every edge within ~1 s (snapshot)


@dataclass(frozen=True, slots=True)
class EdgeAnswer:
    text: str | None
    latency_ms: float
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_micros: int | None = None
    request_id: str | None = None
    error: str | None = None


def _int_header(headers: Any, name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _cost_micros(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int((Decimal(raw) * 1_000_000).to_integral_value())
    except (InvalidOperation, ValueError):
        return None


def _text_of(body: Any) -> str | None:
    try:
        content = body["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    if isinstance(content, list):  # content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _error_of(status: int, body: Any) -> str:
    message = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = str(body["error"].get("message", ""))
    return f"the edge answered {status}" + (f": {message[:_MAX_ERROR_CHARS]}" if message else "")


class EdgeClient:
    def __init__(self, session: aiohttp.ClientSession, edge_url: str, timeout: float) -> None:
        self._session = session
        self._url = f"{edge_url.rstrip('/')}/v1/chat/completions"
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def _post(self, key: str, body: dict[str, Any]) -> tuple[int, Any, Any]:
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "X-OmniRoute-No-Cache": "true",  # measure the model, not the cache
        }
        async with self._session.post(
            self._url, data=jsonx.dumps(body), headers=headers, timeout=self._timeout
        ) as response:
            raw = await response.read()
            try:
                parsed = jsonx.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return response.status, response.headers, parsed

    async def chat(self, key: str, body: dict[str, Any]) -> EdgeAnswer:
        deadline = time.monotonic() + _KEY_PROPAGATION_SECONDS
        while True:
            started = time.perf_counter()
            try:
                status, headers, parsed = await self._post(key, body)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                elapsed = (time.perf_counter() - started) * 1000
                return EdgeAnswer(None, elapsed, error=f"the edge could not be reached ({type(exc).__name__})")
            elapsed = (time.perf_counter() - started) * 1000
            if status == 401 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)  # the run's key may not have reached this edge yet
                continue
            break
        request_id = headers.get("X-OmniRoute-Request-Id")
        if status != 200:
            return EdgeAnswer(None, elapsed, request_id=request_id, error=_error_of(status, parsed))
        usage = parsed.get("usage") if isinstance(parsed, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        tokens_in = _int_header(headers, "X-OmniRoute-Tokens-In")
        tokens_out = _int_header(headers, "X-OmniRoute-Tokens-Out")
        return EdgeAnswer(
            text=_text_of(parsed),
            latency_ms=elapsed,
            tokens_in=tokens_in if tokens_in is not None else usage.get("prompt_tokens"),
            tokens_out=tokens_out if tokens_out is not None else usage.get("completion_tokens"),
            cost_micros=_cost_micros(headers.get("X-OmniRoute-Response-Cost")),
            request_id=request_id,
        )
