"""The edge's upstream session refuses, when connecting, names that resolve to loopback.

`runsc`/`vm`/`localhost` resolve to 127.0.0.1 through /etc/hosts (no DNS beyond loopback): with
private upstreams off the connection is refused even though a server listens there.
"""

from __future__ import annotations

import socket

import aiohttp
import pytest

from services.edge.upstream import create_session
from tests.support.threaded_upstream import threaded_fake_upstream


def _loopback_names() -> list[str]:
    names = []
    for name in ("localhost", "runsc", "vm"):
        try:
            if {info[4][0] for info in socket.getaddrinfo(name, None)} & {"127.0.0.1", "::1"}:
                names.append(name)
        except socket.gaierror:
            continue
    return names


async def test_names_resolving_to_loopback_are_refused_at_connect_time() -> None:
    names = _loopback_names()
    if not names:
        pytest.skip("no host name resolves to loopback here")
    with threaded_fake_upstream() as url:
        port = url.rsplit(":", 1)[1]
        open_session = create_session(allow_private=True)
        strict_session = create_session(allow_private=False)
        try:
            for name in names:
                async with open_session.get(f"http://{name}:{port}/v1/models") as answer:
                    assert answer.status < 500  # reachable when private upstreams are allowed
                with pytest.raises(aiohttp.ClientConnectorError):
                    await strict_session.get(f"http://{name}:{port}/v1/models")
        finally:
            await open_session.close()
            await strict_session.close()
