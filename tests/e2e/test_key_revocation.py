"""A key revoked through /api/keys is refused by every edge process within one second."""

from __future__ import annotations

import time

import httpx

from tests.support.stack import E2EStack

BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def status(edge: str, key: str) -> int:
    # A fresh connection each time, so the kernel spreads calls over all Granian workers of an edge.
    with httpx.Client(timeout=5) as client:
        return client.post(
            f"{edge}/v1/chat/completions", json=BODY, headers={"authorization": f"Bearer {key}"}
        ).status_code


def test_revoked_key_is_refused_by_both_edges_within_a_second(e2e: E2EStack) -> None:
    created = e2e.create_key("to-revoke")
    key = created["key"]
    deadline = time.monotonic() + 5
    while any(status(edge, key) != 200 for edge in e2e.edges):
        assert time.monotonic() < deadline, "new key never became usable"
        time.sleep(0.05)
    for edge in e2e.edges:
        assert all(status(edge, key) == 200 for _ in range(4))

    revoked_at = time.monotonic()
    assert e2e.admin.delete(f"/api/keys/{created['id']}").status_code == 200
    refused_after: dict[str, float] = {}
    while len(refused_after) < len(e2e.edges) and time.monotonic() - revoked_at < 3:
        for edge in e2e.edges:
            if edge not in refused_after and status(edge, key) == 401:
                refused_after[edge] = time.monotonic() - revoked_at
    assert set(refused_after) == set(e2e.edges)
    assert max(refused_after.values()) < 1.0, refused_after
    # And it stays refused on every worker of every edge.
    for edge in e2e.edges:
        assert all(status(edge, key) == 401 for _ in range(6))
