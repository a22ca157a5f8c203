"""Which process a control worker may signal: only the `omniroute control` server that started it."""

from __future__ import annotations

import os

import pytest

from services.control.resources.process.server import SERVER_PID_VARIABLE, ServerProcess


def test_the_parent_recorded_by_the_cli_is_trusted() -> None:
    server = ServerProcess.from_environment({SERVER_PID_VARIABLE: str(os.getppid())})
    assert server.supervised
    assert server.pid == os.getppid()


@pytest.mark.parametrize("raw", ["", "abc", "0", "1", "-5", "99999999", " "])
def test_anything_else_is_not_supervised(raw: str) -> None:
    assert not ServerProcess.from_environment({SERVER_PID_VARIABLE: raw}).supervised


def test_without_the_variable_nothing_is_signalled() -> None:
    assert not ServerProcess.from_environment({}).supervised


async def test_an_unsupervised_process_never_signals() -> None:
    await ServerProcess(None).signal_later("shutdown")  # returns without killing the test run
