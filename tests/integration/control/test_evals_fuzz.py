"""Schemathesis over POST /api/evals/suites alone: its nested body (cases of OpenAI messages) is slow
to generate, so it has this test and time budget instead of a share of test_schemathesis's."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis import GenerationMode

from tests.integration.control.test_schemathesis import _run_operation, admin_key, control_process

__all__ = ["admin_key", "control_process"]  # the module-scoped fixtures, shared with test_schemathesis

PATH = "/api/evals/suites"


@pytest.mark.timeout(300)
def test_creating_suites_never_answers_a_server_error(control_process: tuple[str, Path], admin_key: str) -> None:
    url, log_path = control_process
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", timeout=10)
    headers = {"authorization": f"Bearer {admin_key}"}
    failures, ran = [], 0
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path != PATH:
                continue
            ran += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                problem = _run_operation(operation, mode, url, headers, session)
                if problem:
                    failures.append(problem)
    assert ran == 1
    assert not failures, "\n\n".join(failures)
    logged_errors = [line for line in log_path.read_text().splitlines() if '"level":"error"' in line]
    assert not logged_errors, logged_errors[:5]
