"""redact() and the JSON log formatter."""

from __future__ import annotations

import logging
import sys

import pytest

from shared import jsonx
from shared.logs import JsonFormatter, RedactingFilter, granian_log_config, redact, redact_value

FAKE_OPENAI_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"
FAKE_GOOGLE_KEY = "AIzaSyFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE12"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {FAKE_OPENAI_KEY} used", "key sk-abcdef[REDACTED] used"),
        ("sk-proj-FAKEfakeFAKEfake_fake-FAKE", "sk-proj-F[REDACTED]"),
        ("sk-omni-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE", "sk-omni-F[REDACTED]"),
        ("Authorization: Bearer abcdefghijklmnop.qrs", "Authorization: Bearer [REDACTED]"),
        ("authorization: bearer abcdefghijklmnopqrstu==", "authorization: bearer [REDACTED]"),
        ("api_key=abc123456", "api_key=[REDACTED]"),
        ("api-key: fakevalue", "api-key: [REDACTED]"),
        ("apiKey: 'fake-value-123'", "apiKey: '[REDACTED]'"),
        ("x-api-key: fakevalue123", "x-api-key: [REDACTED]"),
        ("x-goog-api-key=fakevalue", "x-goog-api-key=[REDACTED]"),
        ("password: hunter22", "password: [REDACTED]"),
        ("PASSWORD=hunter22 next", "PASSWORD=[REDACTED] next"),
        ('{"password": "hunter22", "user": "bob"}', '{"password": "[REDACTED]", "user": "bob"}'),
        ("secret=topsecretvalue", "secret=[REDACTED]"),
        ("token: fake-token-value", "token: [REDACTED]"),
        (FAKE_GOOGLE_KEY, "AIzaSyFA[REDACTED]"),
        (f"url ?key={FAKE_GOOGLE_KEY}&alt=sse", "url ?key=[REDACTED]&alt=sse"),
    ],
)
def test_redact_masks_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain message",
        "completion_tokens=12, prompt_tokens: 30",
        "model gpt-4o-mini via task-12345678",
        "sk-short",
        "Bearer short",
        "AIzaShort",
        "the password field is required",
    ],
)
def test_redact_leaves_innocent_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_is_idempotent() -> None:
    text = f"Bearer {FAKE_OPENAI_KEY} api_key={FAKE_OPENAI_KEY} {FAKE_GOOGLE_KEY} password: x1234567"
    once = redact(text)
    assert redact(once) == once
    assert FAKE_OPENAI_KEY not in once
    assert FAKE_GOOGLE_KEY not in once
    assert "x1234567" not in once


def test_redact_several_secrets_in_one_line() -> None:
    text = f"a {FAKE_OPENAI_KEY} b {FAKE_OPENAI_KEY.replace('a', 'z')} c"
    out = redact(text)
    assert out.count("[REDACTED]") == 2
    assert "abcdefghijklmnopqrstuvwxyz" not in out


def _record(msg: str, args: tuple[object, ...] = (), exc_info: object = None, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("omniroute.test")
    return logger.makeRecord(
        "omniroute.test",
        logging.WARNING,
        __file__,
        10,
        msg,
        args,
        exc_info,
        extra=extra,  # type: ignore[arg-type]
    )


def test_json_formatter_one_line_with_redacted_message_and_extras() -> None:
    record = _record(
        "upstream said %s\nsecond line",
        (f"bad key {FAKE_OPENAI_KEY}",),
        request_id="req-1",
        status=429,
        latency=0.25,
        header="Bearer fakeBearerToken0123456789",
        tags=["a", "b"],
    )
    line = JsonFormatter("edge").format(record)
    assert "\n" not in line
    assert FAKE_OPENAI_KEY not in line
    entry = jsonx.loads(line)
    assert entry["level"] == "warning"
    assert entry["service"] == "edge"
    assert entry["logger"] == "omniroute.test"
    assert entry["msg"] == "upstream said bad key sk-abcdef[REDACTED]\nsecond line"
    assert entry["request_id"] == "req-1"
    assert entry["status"] == 429
    assert entry["latency"] == 0.25
    assert entry["header"] == "Bearer [REDACTED]"
    assert entry["tags"] == ["a", "b"]
    assert isinstance(entry["ts"], float)
    for standard in ("args", "levelno", "levelname", "pathname", "lineno", "exc_info", "thread", "process"):
        assert standard not in entry
    assert "exc" not in entry


def test_json_formatter_skips_private_attributes() -> None:
    entry = jsonx.loads(JsonFormatter("control").format(_record("hi", _private="hidden")))
    assert "_private" not in entry
    assert entry["msg"] == "hi"


def test_json_formatter_includes_a_redacted_traceback() -> None:
    try:
        raise ValueError(f"boom with {FAKE_OPENAI_KEY}")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())
    line = JsonFormatter("worker").format(record)
    assert "\n" not in line
    entry = jsonx.loads(line)
    assert "ValueError: boom with sk-abcdef[REDACTED]" in entry["exc"]
    assert FAKE_OPENAI_KEY not in line


def test_granian_log_config_uses_the_json_formatter() -> None:
    config = granian_log_config("edge")
    assert config["formatters"]["json"] == {"()": "shared.logs.JsonFormatter", "service": "edge"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /v1beta/models/x:generateContent?key=abc123secret&alt=sse", "?key=[REDACTED]&alt=sse"),
        ("callback?code=4/0AbCdEf&state=x", "?code=[REDACTED]&state=x"),
        ("https://example.test/x?access_token=ya29.abc", "?access_token=[REDACTED]"),
        ("proxy http://alice:s3cr3t-pw@proxy.local:3128", "http://alice:[REDACTED]@proxy.local:3128"),
        ("redis://:redispass@127.0.0.1:6379/0", "redis://:[REDACTED]@127.0.0.1:6379/0"),
        ("Authorization: Basic YWxpY2U6c2VjcmV0cGFzcw==", "Authorization: Basic [REDACTED]"),
        ('{"client_secret": "abcdef"}', '{"client_secret": "[REDACTED]"}'),
        (
            "cookie: auth_token=eyJzdWIiOiJhZG1pbiJ9.c2ln; csrf_token=abc",
            "auth_token=[REDACTED]; csrf_token=[REDACTED]",
        ),
        ("sk-ant-api03-FAKEFAKEFAKEFAKEFAKE", "sk-ant-ap[REDACTED]"),
    ],
)
def test_redact_masks_more_secret_spellings(text: str, expected: str) -> None:
    out = redact(text)
    assert expected in out, out


def test_redact_value_replaces_secret_fields_whole_at_any_depth() -> None:
    value = {
        "provider": "openai",
        "apiKey": "no-pattern-would-catch-this",
        "nested": [{"client-secret": "plain"}, {"note": f"uses {FAKE_OPENAI_KEY}"}],
        "count": 3,
        "password": None,
    }
    out = redact_value(value)
    assert out["provider"] == "openai"
    assert out["apiKey"] == "[REDACTED]"
    assert out["nested"][0]["client-secret"] == "[REDACTED]"
    assert FAKE_OPENAI_KEY not in out["nested"][1]["note"]
    assert out["count"] == 3 and out["password"] is None


def test_the_filter_rewrites_the_record_for_every_later_handler() -> None:
    try:
        raise RuntimeError(f"upstream refused {FAKE_OPENAI_KEY}")
    except RuntimeError:
        record = _record(
            "connect to %s failed",
            ("http://bob:hunter2-pw@10.0.0.1",),
            exc_info=sys.exc_info(),
            body={"apiKey": "opaque-provider-secret"},
            api_key="opaque-provider-secret",
        )
    assert RedactingFilter().filter(record)
    assert "hunter2-pw" not in record.getMessage()
    assert record.body == {"apiKey": "[REDACTED]"}  # type: ignore[attr-defined]
    assert record.api_key == "[REDACTED]"  # type: ignore[attr-defined]
    assert record.exc_text is not None and FAKE_OPENAI_KEY not in record.exc_text
    line = JsonFormatter("control").format(record)
    for secret in ("hunter2-pw", "opaque-provider-secret", FAKE_OPENAI_KEY):
        assert secret not in line
    assert RedactingFilter().filter(record)  # a second pass changes nothing
    assert record.body == {"apiKey": "[REDACTED]"}  # type: ignore[attr-defined]
