"""An outbound HTTP proxy set through /api/settings/proxy carries every edge's upstream calls.

The whole stack runs as separate processes; the proxy is the in-repo loopback HTTP proxy (a
thread of this test process), requiring credentials, and counting what it carries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.loopback_proxies import RunningServer, http_proxy
from tests.support.stack import E2EStack

BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "through the proxy"}]}
USER, PASSWORD = "e2e-proxy-user", "e2e-proxy-password-0123456789"


def _status(edge: str, key: str) -> int:
    # A fresh connection each time, so calls spread over all Granian workers of an edge.
    with httpx.Client(timeout=10) as client:
        return client.post(
            f"{edge}/v1/chat/completions", json=BODY, headers={"authorization": f"Bearer {key}"}
        ).status_code


def _until_carried(e2e: E2EStack, proxy: RunningServer, *, carried: bool) -> None:
    """Wait until every edge (each worker) sends through the proxy, or no longer does."""
    for edge in e2e.edges:
        deadline, streak = time.monotonic() + 10, 0
        while streak < 6:
            assert time.monotonic() < deadline, f"{edge} never switched (carried={carried})"
            before = len(proxy.log.targets)
            assert _status(edge, e2e.key) == 200
            streak = streak + 1 if (len(proxy.log.targets) > before) == carried else 0


@pytest.fixture
def proxy(e2e: E2EStack) -> Iterator[RunningServer]:
    with http_proxy(USER, PASSWORD) as running:
        try:
            yield running
        finally:
            assert e2e.admin.put("/api/settings/proxy", json={"global": None, "providers": {}}).status_code == 200


def test_a_global_http_proxy_carries_every_edges_calls_until_a_provider_opts_out(
    e2e: E2EStack, proxy: RunningServer
) -> None:
    entry = {"type": "http", "host": "127.0.0.1", "port": proxy.port, "username": USER, "password": PASSWORD}
    saved = e2e.admin.put("/api/settings/proxy", json={"global": entry, "providers": {}})
    assert saved.status_code == 200, saved.text
    assert PASSWORD not in saved.text

    _until_carried(e2e, proxy, carried=True)
    upstream = e2e.stack.fake_upstream_url.removeprefix("http://")
    assert set(proxy.log.targets) == {upstream}
    assert set(proxy.log.credentials) == {f"{USER}:{PASSWORD}"}
    assert proxy.log.refused == 0

    tested = e2e.admin.post("/api/settings/proxy/test", json={"provider": "openai"})
    assert tested.status_code == 200
    assert tested.json()["ok"] is True, tested.json()
    assert PASSWORD not in tested.text

    opted_out = e2e.admin.put("/api/settings/proxy", json={"global": entry, "providers": {"openai": {"type": "none"}}})
    assert opted_out.status_code == 200, opted_out.text
    _until_carried(e2e, proxy, carried=False)

    audit = e2e.fetch("SELECT before::text, after::text FROM audit_log WHERE target_id = 'proxy'")
    assert len(audit) >= 2
    assert all(PASSWORD not in (row["before"] or "") + row["after"] for row in audit)
