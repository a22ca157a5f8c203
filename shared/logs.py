"""Structured JSON logs with secrets redacted from every line."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

from shared import jsonx

__all__ = [
    "SECRET_FIELD_NAMES",
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "granian_log_config",
    "redact",
    "redact_value",
]

_MARK = "[REDACTED]"

# Structured fields whose value is a secret whatever it looks like (compared lower-cased, without - and _).
SECRET_FIELD_NAMES = frozenset(
    {
        "apikey",
        "xapikey",
        "xgoogapikey",
        "key",
        "keyhash",
        "password",
        "passwd",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "csrftoken",
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "privatekey",
        "credentials",
        "storageencryptionkey",
        "jwtsecret",
        "initialpassword",
    }
)

# Each pattern keeps group 1 (the context) and replaces what follows it.
_SECRET_PATTERNS = (
    re.compile(r"(sk-[A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]{8,}"),  # OpenAI/Anthropic-style and our own sk-omni- keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/\-]{8,}=*"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/]{8,}=*"),
    re.compile(
        r"(?i)((?:api[_-]?key|x-api-key|x-goog-api-key|password|passwd|secret|token)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',;&}]+"
    ),
    # query parameters that carry credentials: ?key=..., &access_token=..., &sig=...
    re.compile(r"(?i)([?&;](?:key|apikey|api_key|access_token|token|auth|sig|signature|code)=)[^&#\s\"']+"),
    # userinfo in URLs: scheme://user:password@host
    re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^/\s:@\"']*:)[^@\s/\"']+(?=@)"),
    re.compile(r"(AIza[0-9A-Za-z_\-]{4})[0-9A-Za-z_\-]{20,}"),  # Google API keys
)


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _MARK, text)
    return text


def _is_secret_field(name: object) -> bool:
    return isinstance(name, str) and name.lower().replace("-", "").replace("_", "") in SECRET_FIELD_NAMES


def redact_value(value: Any, depth: int = 0) -> Any:
    """Strings redacted; in mappings, values of secret-named fields replaced whole; any depth (bounded)."""
    if isinstance(value, str):
        return redact(value)
    if depth > 8:
        return value if isinstance(value, int | float | bool) or value is None else _MARK
    if isinstance(value, dict):
        return {
            k: (_MARK if _is_secret_field(k) and v not in (None, "") else redact_value(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record in place before any handler formats it: message (with its args), extras
    (by field name and content) and the traceback text. Installed on the handlers configure_logging
    sets up, so whatever formatter or handler comes after sees only redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw template, still redacted
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            record.__dict__[key] = _MARK if _is_secret_field(key) and value not in (None, "") else redact_value(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None  # the exception object holds the raw text; formatters use exc_text
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.__dict__["_redacted"] = True
        return True


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
                entry[key] = _MARK if _is_secret_field(key) and value not in (None, "") else redact_value(value)
        exc_text = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else None)
        if exc_text:
            entry["exc"] = redact(exc_text)
        return jsonx.dumps_str(entry)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
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
        "filters": {"redact": {"()": "shared.logs.RedactingFilter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
