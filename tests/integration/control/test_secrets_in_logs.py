"""Secrets sent in requests that fail never reach a log line (the production logging pipeline)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from tests.support.auth import CSRF_HEADER_NAME

PROVIDER_KEY = "sk-live-provider-secret-0123456789abcdef"
OWN_KEY = "sk-omni-not-a-real-key-0123456789abcdefghijkl"
QUERY_KEY = "AIzaSyQUERYQUERYQUERYQUERYQUERYQUERY12"
OPAQUE = "opaque-secret-value-without-pattern"
WRONG_PASSWORD = "wrong-password-hunter2-xyz"
URL_PASSWORD = "url-password-s3cr3t"
SECRETS = (PROVIDER_KEY, OWN_KEY, QUERY_KEY, OPAQUE, WRONG_PASSWORD, URL_PASSWORD)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured(control: AsyncTestClient) -> Iterator[tuple[io.StringIO, _Collect]]:
    """The root handler create_app installed, writing to a buffer; plus a handler after it."""
    root = logging.getLogger()
    (production,) = root.handlers
    assert isinstance(production, logging.StreamHandler)
    buffer = io.StringIO()
    previous = production.setStream(buffer)
    collect = _Collect()
    root.addHandler(collect)
    try:
        yield buffer, collect
    finally:
        root.removeHandler(collect)
        production.setStream(previous)


def _record_text(record: logging.LogRecord) -> str:
    return " ".join((record.getMessage(), repr(record.__dict__), record.exc_text or "", record.stack_info or ""))


async def test_failing_requests_with_secrets_leave_no_secret_in_any_log_line(
    admin: AsyncTestClient, captured: tuple[io.StringIO, _Collect]
) -> None:
    buffer, collect = captured
    csrf = admin.headers[CSRF_HEADER_NAME]
    # a wrong password (login is not limited for this many attempts)
    assert (await admin.post("/api/auth/login", json={"password": WRONG_PASSWORD})).status_code == 401
    # a provider with a key, refused for its URL (credentials in the URL)
    refused = await admin.post(
        "/api/providers",
        json={"provider": "openai", "name": "x", "apiKey": PROVIDER_KEY, "baseUrl": f"http://u:{URL_PASSWORD}@h/v1"},
    )
    assert refused.status_code == 400
    # a malformed provider body carrying the key
    assert (await admin.post("/api/providers", json={"provider": 5, "apiKey": PROVIDER_KEY})).status_code == 400
    # wrong Bearer keys, and keys in the query string
    for path in (f"/api/keys?key={QUERY_KEY}", f"/api/providers?key={OWN_KEY}"):
        answer = await admin.get(path, headers={"authorization": f"Bearer {OWN_KEY}"})
        assert answer.status_code == 401
    # code that logs what it got: message args, extras, tracebacks
    log = logging.getLogger("services.control.test")
    log.warning("upstream said: Incorrect API key provided: %s", PROVIDER_KEY, extra={"body": {"apiKey": OPAQUE}})
    try:
        raise ConnectionError(f"proxy http://user:{URL_PASSWORD}@10.0.0.1:3128 refused {OWN_KEY}")
    except ConnectionError:
        log.exception("proxy test failed", extra={"password": OPAQUE, "url": f"https://x.test/?key={QUERY_KEY}"})
    assert (await admin.get("/api/keys", headers={CSRF_HEADER_NAME: csrf})).status_code == 200

    output = buffer.getvalue()
    assert "login failed" in output and "proxy test failed" in output  # the pipeline did log
    assert len(collect.records) >= 3
    for secret in SECRETS:
        assert secret not in output, secret
        for record in collect.records:
            assert secret not in _record_text(record), (secret, record.getMessage())
