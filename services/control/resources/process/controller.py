"""POST /api/restart and POST /api/shutdown (admin only, audited): answer 202, then act.

The audit row is committed before the answer; the signal goes out as the response's background
task, so the caller always hears back before the control process starts draining. Both act on
the whole control process (every Granian worker): in-flight requests finish, the lifespan closes
the pools. Edges and workers are separate processes and keep running.
"""

from __future__ import annotations

import socket
from typing import Any, Literal

import msgspec
from litestar import Request, Response, post
from litestar.background_tasks import BackgroundTask

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import ApiError
from services.control.resources.process.server import Action, ServerProcess

__all__ = ["ProcessAnswer", "restart_control", "shutdown_control"]


class ProcessAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    action: Literal["restart", "shutdown"]
    accepted: bool
    host: str
    server_pid: int  # the process that will stop (the Granian main process of `omniroute control`)


async def _accept(request: Request[Any, Any, Any], action: Action) -> Response[ProcessAnswer]:
    server: ServerProcess = request.app.state.process
    if server.pid is None:
        raise ApiError(
            409,
            "this control plane is not running under `omniroute control`, so it cannot stop or restart itself",
            "not_supervised",
        )
    answer = ProcessAnswer(action=action, accepted=True, host=socket.gethostname(), server_pid=server.pid)
    state = control_state(request)
    async with state.pool.acquire() as conn, conn.transaction():
        target = f"{answer.host}:{server.pid}"
        await audit.record(conn, actor_of(request), f"control.{action}", "process", target, None, {"action": action})
    return Response(answer, status_code=202, background=BackgroundTask(server.signal_later, action))


@post("/api/restart", status_code=202, tags=["process"])
async def restart_control(request: Request[Any, Any, Any]) -> Response[ProcessAnswer]:
    """Gracefully restart the control process (202 first; `omniroute up` or Kubernetes starts it again)."""
    return await _accept(request, "restart")


@post("/api/shutdown", status_code=202, tags=["process"])
async def shutdown_control(request: Request[Any, Any, Any]) -> Response[ProcessAnswer]:
    """Gracefully stop the control process (202 first)."""
    return await _accept(request, "shutdown")
