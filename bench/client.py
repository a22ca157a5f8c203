"""The two targets, the request bodies, and one request (JSON or SSE) timed with perf_counter."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter

import aiohttp

from shared import jsonx

__all__ = [
    "BODY_BYTES",
    "STREAM_BODY_BYTES",
    "Outcome",
    "Target",
    "chat_body",
    "open_session",
    "post_json",
    "post_stream",
]

BODY_BYTES = 230  # the same small body for every target (peers.md §5.1)
STREAM_BODY_BYTES = 330  # streaming bodies carry a [[fake ...]] directive, stream and stream_options
_SYSTEM = "Be concise."
_QUESTION = "In one sentence, why should an AI gateway add as little latency as possible?"
_FILLER = " Thank you in advance for a short and direct answer."
_DONE = b"data: [DONE]"


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # "direct" or "edge"
    url: str  # the chat completions URL
    model: str
    headers: dict[str, str] = field(default_factory=dict)


def chat_body(model: str, stream: bool = False, directive: str = "", size: int = BODY_BYTES) -> bytes:
    """A chat request padded to `size` bytes (when it is shorter), so both targets get equal bodies."""

    def build(text: str) -> bytes:
        body: dict[str, object] = {
            "model": model,
            "messages": [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": text}],
            "max_tokens": 64,
            "temperature": 0.2,
        }
        if stream:
            # The edge always asks the upstream for the usage chunk; ask for it on both targets so the
            # upstream sends the same events either way (a withheld usage chunk would cost one pacing step).
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return jsonx.dumps(body)

    text = f"{directive} {_QUESTION}".strip()
    missing = size - len(build(text))
    if missing > 0:
        text += (_FILLER * (missing // len(_FILLER) + 1))[:missing]
    return build(text)


def open_session() -> aiohttp.ClientSession:
    """One pooled keep-alive session per target, no pool limit."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
        timeout=aiohttp.ClientTimeout(total=60),
        skip_auto_headers=("User-Agent",),
    )


@dataclass(slots=True)
class Outcome:
    """What one request produced; times are perf_counter() readings."""

    error: str | None = None
    first_byte: float | None = None  # first body byte (streams)
    first_token: float | None = None  # second SSE event: the first one after the role-only chunk
    gaps: list[float] | None = None  # inter-event arrival gaps (paced streams)


async def post_json(session: aiohttp.ClientSession, target: Target, body: bytes) -> Outcome:
    try:
        async with session.post(target.url, data=body, headers=target.headers) as response:
            raw = await response.read()
            if response.status != 200:
                return Outcome(error=f"HTTP {response.status}")
            if not raw.startswith(b"{"):
                return Outcome(error="not a JSON answer")
            return Outcome()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Outcome(error=type(exc).__name__)


async def post_stream(session: aiohttp.ClientSession, target: Target, body: bytes, with_gaps: bool) -> Outcome:
    """Read an SSE answer as it arrives; an error unless it ends with `data: [DONE]`."""
    outcome = Outcome(gaps=[] if with_gaps else None)
    try:
        async with session.post(target.url, data=body, headers=target.headers) as response:
            if response.status != 200:
                await response.read()
                return Outcome(error=f"HTTP {response.status}")
            events, last_event, tail = 0, 0.0, b""
            async for chunk in response.content.iter_any():
                now = perf_counter()
                if outcome.first_byte is None:
                    outcome.first_byte = now
                joined = tail + chunk
                completed = joined.count(b"\n\n") - tail.count(b"\n\n")  # events ended by this read
                tail = joined[-48:]
                if not completed:
                    continue
                if events < 2 <= events + completed:
                    outcome.first_token = now
                if outcome.gaps is not None:
                    if events:
                        outcome.gaps.append(now - last_event)
                    outcome.gaps.extend([0.0] * (completed - 1))  # arrived in the same read
                events += completed
                last_event = now
            if not tail.rstrip().endswith(_DONE):
                outcome.error = "stream did not end with data: [DONE]"
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        outcome.error = type(exc).__name__
    return outcome
