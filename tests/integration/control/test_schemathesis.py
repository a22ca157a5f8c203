"""Schemathesis over /api/openapi.json of a real control process: no answer is a server error,
and answers match their documented schemas.

The control plane runs as `omniroute control` (Granian, real HTTP on loopback) against its own
database and Redis db; every operation gets a bounded number of generated cases, sent with an
admin Bearer key. Operations that would stop the process under test, or call hosts beyond
loopback, are excluded.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import pytest
import redis
import requests
import schemathesis
from hypothesis import HealthCheck
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup

from tests.support.auth import login_sync
from tests.support.db import fresh_database
from tests.support.env import base_env, free_port, redis_url

DATABASE = "omniroute_fuzz"
REDIS_DB = 5  # its own db: 6 and 7 process control, 8 edge presence, 9-15 see dispatch_support.py
EXAMPLES_PER_OPERATION = int(os.environ.get("OMNIROUTE_FUZZ_EXAMPLES", "25"))
DESTRUCTIVE = ("/api/shutdown", "/api/restart")
# Operations that call out to a host taken from the input or to a real provider's OAuth server:
# generated cases would reach beyond loopback. Their bad input has dedicated tests
# (test_proxy_settings_api, test_provider_live_api, test_oauth_bad_input).
OUTBOUND = (
    "/api/settings/proxy/test",
    "/api/providers/validate",
    "/api/providers/{provider_id}/test",
    "/api/providers/{provider_id}/models",
    "/api/sync/initialize",  # sets the remote that "sync now" calls; without it /api/sync/cloud stays local
)
OUTBOUND_PREFIXES = ("/api/oauth/",)
# Operations whose deeply nested bodies cost hypothesis tens of seconds to generate: fuzzed in their
# own test with its own time budget (test_evals_fuzz.py).
SEPARATE = ("/api/evals/suites",)
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def control_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    asyncio.run(fresh_database(DATABASE))
    redis.Redis.from_url(redis_url(REDIS_DB)).flushdb()
    port = free_port()
    data_dir: Path = tmp_path_factory.mktemp("fuzz-data")
    env = {**os.environ, **base_env(DATABASE, REDIS_DB, OMNIROUTE_DATA_DIR=str(data_dir))}
    log = (data_dir / "control.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "control", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (data_dir / "control.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "control never became ready"
            time.sleep(0.1)
        yield url, data_dir / "control.log"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def admin_key(control_process: tuple[str, Path]) -> str:
    with httpx.Client(base_url=control_process[0], timeout=10) as client:
        login_sync(client)
        created = client.post("/api/keys", json={"name": "schemathesis", "scopes": ["admin"]})
        assert created.status_code == 201, created.text
        return str(created.json()["key"])


def _run_operation(
    operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str], session: requests.Session
) -> str | None:
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=10)
        # invalid input must be refused cleanly; valid input must also answer as documented
        case.validate_response(response, checks=CHECKS if mode is GenerationMode.POSITIVE else CHECKS[:1])

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        return None  # nothing to make invalid (e.g. an operation without parameters or body)
    except (AssertionError, FailureGroup) as exc:
        return f"{operation.label} ({mode.value}): {str(exc)[:1500]}"
    return None


@pytest.mark.timeout(600)  # ~50 operations x 2 modes; about 45 s on an idle two-core machine
def test_no_operation_answers_a_server_error_or_breaks_its_schema(
    control_process: tuple[str, Path], admin_key: str
) -> None:
    url, log_path = control_process
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", timeout=10)
    headers = {"authorization": f"Bearer {admin_key}"}
    failures, ran = [], 0
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path in DESTRUCTIVE + OUTBOUND + SEPARATE or operation.path.startswith(OUTBOUND_PREFIXES):
                continue
            ran += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                problem = _run_operation(operation, mode, url, headers, session)
                if problem:
                    failures.append(problem)
    assert ran >= 30, ran
    assert not failures, "\n\n".join(failures)
    logged_errors = [line for line in log_path.read_text().splitlines() if '"level":"error"' in line]
    assert not logged_errors, logged_errors[:5]
