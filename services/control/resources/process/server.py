"""The server process a control worker may ask to stop or restart, and the signals that do it.

`omniroute control` runs Granian: a main process supervising worker processes that run this app.
Before serving, the CLI records the main process's pid in OMNIROUTE_SERVER_PID and installs a
handler for RESTART_SIGNAL. A worker asks for a graceful stop with SIGTERM (Granian drains its
workers and the command exits 0) or for a restart with RESTART_SIGNAL (the same graceful stop,
then the command exits with the restart code its supervisor restarts; under Kubernetes the
container simply restarts). An app not run that way (e.g. in-process in tests) is not supervised
and refuses: signalling its own process would kill whatever hosts it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from typing import Literal

__all__ = ["RESTART_SIGNAL", "SERVER_PID_VARIABLE", "ServerProcess"]

SERVER_PID_VARIABLE = "OMNIROUTE_SERVER_PID"
RESTART_SIGNAL = signal.SIGUSR1

Action = Literal["restart", "shutdown"]

_SIGNAL_DELAY_SECONDS = 0.1  # let the 202 leave the socket before the drain starts


class ServerProcess:
    __slots__ = ("pid",)

    def __init__(self, pid: int | None) -> None:
        self.pid = pid

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> ServerProcess:
        """Trust the recorded pid only when it is this process's server: its parent or itself."""
        raw = env.get(SERVER_PID_VARIABLE, "")
        try:
            pid = int(raw)
        except ValueError:
            return cls(None)
        return cls(pid if pid > 1 and pid in (os.getppid(), os.getpid()) else None)

    @property
    def supervised(self) -> bool:
        return self.pid is not None

    async def signal_later(self, action: Action) -> None:
        """Run as the response's background task, after the answer was sent."""
        if self.pid is None:
            return
        await asyncio.sleep(_SIGNAL_DELAY_SECONDS)
        os.kill(self.pid, RESTART_SIGNAL if action == "restart" else signal.SIGTERM)
