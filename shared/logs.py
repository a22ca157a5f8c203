"""Structured JSON logs with secrets redacted from every line."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

from shared import jsonx

__all__ = ["JsonFormatter", "configure_logging", "granian_log_config", "redact"]

_SECRET_PATTERNS = (
    re.compile(r"(sk-[A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]{8,}"),  # OpenAI-style and our own keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/\-]{8,}=*"),
    re.compile(
        r"(?i)((?:api[_-]?key|x-api-key|x-goog-api-key|password|secret|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
    ),
    re.compile(r"(AIza[0-9A-Za-z_\-]{4})[0-9A-Za-z_\-]{20,}"),  # Google API keys
)


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[REDACTED]", text)
    return text


_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return jsonx.dumps_str(entry)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("asyncio", "aiohttp.access", "arq.worker", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def granian_log_config(service: str) -> dict[str, Any]:
    """Granian's own log lines in the same JSON shape (passed as its `log_dictconfig`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "shared.logs.JsonFormatter", "service": service}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
