"""Gemini, provider side: `streamGenerateContent?alt=sse` frames -> canonical stream events.

Each `data:` frame is a whole `GenerateContentResponse` holding the next parts of candidate 0
(read by `PartReader`), `usageMetadata` (cumulative) and, on the last one, `finishReason`. There is
no `[DONE]`: the stream ends when the connection closes, so a close after a `finishReason` (or a
prompt blocked by `promptFeedback.blockReason`) is the Finish, and a close before it is a Failure
(`stream_interrupted`). A frame `{"error": {...}}` is the upstream's in-band error.
"""

from __future__ import annotations

from typing import Any

from shared import jsonx
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import UpstreamError
from shared.canonical.events import Failure, Finish, Start, StreamEvent, UsageUpdate
from shared.canonical.usage import Usage
from shared.formats.gemini.parts import PartReader
from shared.formats.gemini.usage import parse_usage, stop_reason
from shared.formats.gemini.wire import camel
from shared.formats.upstream_errors import clean_message
from shared.sse import SSEEvent

__all__ = ["GeminiStreamParser", "stream_parser", "upstream_message"]


def upstream_message(body: Any) -> str | None:
    """The message of a Google error body (`{"error": {"message": ...}}`), cleaned for the caller."""
    error = body.get("error") if isinstance(body, dict) else None
    return clean_message(error.get("message") if isinstance(error, dict) else error)


def _failure(message: str, code: str) -> Failure:
    return Failure(UpstreamError(message, code=code))


def _candidate(chunk: dict[str, Any]) -> dict[str, Any] | None:
    candidates = chunk.get("candidates")
    if not isinstance(candidates, list):
        return None
    for candidate in candidates:
        if isinstance(candidate, dict) and candidate.get("index", 0) == 0:
            return camel(candidate)
    return None


class GeminiStreamParser:
    __slots__ = ("_finish", "_reader", "_usage", "done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False
        self._reader = PartReader("")
        self._finish: str | None = None
        self._usage: Usage | None = None

    def parse(self, frame: SSEEvent) -> list[StreamEvent]:
        if self.done:
            return []
        data = frame.data.strip()
        if not data or data == b"[DONE]":
            return []
        try:
            chunk = jsonx.loads(data)
        except jsonx.JSONDecodeError:
            self.done = True
            return [_failure("The upstream sent a malformed stream event.", "upstream_stream_error")]
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk and "candidates" not in chunk:
            self.done = True
            message = upstream_message(chunk) or "The upstream provider reported an error mid-stream."
            return [_failure(message, "upstream_stream_error")]
        return self.chunk(camel(chunk))

    def chunk(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """One `GenerateContentResponse` (with camelCase top-level keys)."""
        events: list[StreamEvent] = []
        if not self.started:
            self.started = True
            ident = chunk.get("responseId")
            model = chunk.get("modelVersion")
            ident = ident if isinstance(ident, str) else ""
            self._reader = PartReader(ident)
            events.append(Start(ident, model if isinstance(model, str) else ""))
        if isinstance(chunk.get("usageMetadata"), dict):
            self._usage = parse_usage(camel(chunk["usageMetadata"]))
            events.append(UsageUpdate(self._usage))
        candidate = _candidate(chunk)
        if candidate is not None:
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                if isinstance(part, dict):
                    events += self._reader.part(part)
            finish = candidate.get("finishReason")
            if isinstance(finish, str) and finish and finish != "FINISH_REASON_UNSPECIFIED":
                self._finish = finish
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, dict) and camel(feedback).get("blockReason"):
            self._finish = "SAFETY"  # the prompt itself was blocked: no candidates follow
        return events

    def finish(self, require_finish: bool) -> list[StreamEvent]:
        """The answer is complete: close the open block and finish (or fail, if no finishReason came)."""
        if self.done:
            return []
        self.done = True
        if self._finish is None and require_finish:
            return [_failure("The upstream stream ended before completion.", "stream_interrupted")]
        start: list[StreamEvent] = [] if self.started else [Start("", "")]
        reason = stop_reason(self._finish or "STOP", self._reader.calls > 0)
        return [*start, *self._reader.close(), Finish(reason, usage=self._usage)]

    def end(self) -> list[StreamEvent]:
        return self.finish(require_finish=True)


def stream_parser(request: ChatRequest) -> GeminiStreamParser:
    return GeminiStreamParser()
