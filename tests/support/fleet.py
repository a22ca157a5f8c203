"""Helpers for tests that drive several edge processes at once: config propagation, the fake
upstream's ledger and scripts, and the edges' Prometheus metrics."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from shared.kv import keys
from tests.support.stack import E2EStack

__all__ = [
    "clear_scripts",
    "concurrently",
    "fingerprint",
    "ledger",
    "metric_sum",
    "script",
    "wait_config_everywhere",
]


def fingerprint(upstream_key: str) -> str:
    """How the fake upstream's ledger names the API key a request came with."""
    return hashlib.sha256(upstream_key.encode()).hexdigest()[:12]


def wait_config_everywhere(stack: E2EStack, timeout: float = 10.0) -> int:
    """Wait until every edge serves the snapshot version currently published in Redis."""
    raw = stack.redis().hget(keys.CONFIG_CURRENT, "version")
    assert raw is not None
    version = int(raw)
    deadline = time.monotonic() + timeout
    for edge in stack.edges:
        while httpx.get(f"{edge}/readyz").json()["configVersion"] < version:
            assert time.monotonic() < deadline, f"{edge} never loaded config version {version}"
            time.sleep(0.02)
    return version


def script(
    stack: E2EStack,
    fault: dict[str, Any],
    *,
    model: str | None = None,
    api_key: str | None = None,
    times: int | None = None,
) -> None:
    match = {name: value for name, value in (("model", model), ("apiKey", api_key)) if value is not None}
    body: dict[str, Any] = {"fault": fault, "match": match}
    if times is not None:
        body["times"] = times
    assert httpx.post(f"{stack.stack.fake_upstream_url}/_fake/script", json=body).status_code == 200


def clear_scripts(stack: E2EStack) -> None:
    assert httpx.delete(f"{stack.stack.fake_upstream_url}/_fake/script").status_code == 200


def ledger(stack: E2EStack, model: str | None = None) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{stack.stack.fake_upstream_url}/_fake/ledger").json()
    return [entry for entry in entries if model is None or entry["model"] == model]


def concurrently(calls: Sequence[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls at once, one thread each, and return their answers in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


def metric_sum(stack: E2EStack, name: str, **labels: str) -> float:
    """The sum of one sample family over every edge, restricted to samples carrying these labels."""
    wanted = [f'{label}="{value}"' for label, value in labels.items()]
    total = 0.0
    for edge in stack.edges:
        for line in httpx.get(f"{edge}/metrics").text.splitlines():
            match = _SAMPLE.match(line)
            if match is None or match.group(1) != name:
                continue
            found = match.group(2) or ""
            if all(item in found for item in wanted):
                total += float(match.group(3))
    return total
