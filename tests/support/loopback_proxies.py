"""Tiny real proxies on loopback, for proving where outbound traffic goes.

- `http_proxy()`: an HTTP proxy taking CONNECT tunnels and absolute-form requests
  (`POST http://host:port/path`), optionally requiring Basic `Proxy-Authorization`.
- `socks5_proxy()`: a SOCKS5 proxy (CONNECT only), optionally requiring username/password
  authentication (RFC 1929); it records whether the client sent a name or an address.
- `canned_responder()`: answers every request with one canned response (a redirect, say) and
  counts connections, so a test can show a redirect target was never contacted.

Each runs in a background thread with its own event loop (Litestar's test clients block the
test's loop, and e2e stacks are other processes) and records what it saw in a `ProxyLog`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["ProxyLog", "RunningServer", "canned_responder", "http_proxy", "socks5_proxy"]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class ProxyLog:
    connections: int = 0  # client connections accepted
    targets: list[str] = field(default_factory=list)  # "host:port" per tunnel or forwarded request
    credentials: list[str | None] = field(default_factory=list)  # "user:password" offered, per attempt
    refused: int = 0  # attempts refused for missing or wrong credentials
    domain_targets: int = 0  # SOCKS5: targets sent as a name (remote DNS) rather than an address


@dataclass
class RunningServer:
    port: int
    log: ProxyLog

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


async def _splice(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up: asyncio.StreamWriter,
) -> None:
    await asyncio.gather(_pipe(reader, up), _pipe(up_reader, writer))


@contextmanager
def _serve(make_handler: Callable[[ProxyLog], Handler]) -> Iterator[RunningServer]:
    log = ProxyLog()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, asyncio.Server] = {}
    handler = make_handler(log)

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        log.connections += 1
        try:
            await handler(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()

    async def start() -> None:
        holder["server"] = await asyncio.start_server(counted, "127.0.0.1", 0)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="loopback-proxy", daemon=True)
    thread.start()
    ready.wait(10)
    server = holder["server"]
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield RunningServer(port=port, log=log)
    finally:

        async def stop() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _split_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _basic(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "proxy-authorization" and value.lower().startswith("basic "):
            return base64.b64decode(value[6:]).decode("latin-1")
    return None


def _origin_form(request_line: str, headers: list[tuple[str, str]]) -> tuple[bytes, str, int, int]:
    """(head to send upstream, host, port, body length) for an absolute-form request."""
    method, target, version = request_line.split(" ", 2)
    parts = urlsplit(target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [(n, v) for n, v in headers if n.lower() not in ("proxy-authorization", "proxy-connection")]
    length = next((int(v) for n, v in kept if n.lower() == "content-length"), 0)
    head = "\r\n".join([f"{method} {path} {version}", *(f"{n}: {v}" for n, v in kept)]) + "\r\n\r\n"
    return head.encode("latin-1"), parts.hostname or "", parts.port or 80, length


@contextmanager
def http_proxy(username: str | None = None, password: str | None = None) -> Iterator[RunningServer]:
    expected = f"{username}:{password}" if username is not None else None

    def make(log: ProxyLog) -> Handler:
        async def allowed(headers: list[tuple[str, str]], writer: asyncio.StreamWriter) -> bool:
            offered = _basic(headers)
            log.credentials.append(offered)
            if expected is None or offered == expected:
                return True
            log.refused += 1
            writer.write(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            return False

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request_line, headers = _split_head(await reader.readuntil(b"\r\n\r\n"))
            if not await allowed(headers, writer):
                return
            method, target, _ = request_line.split(" ", 2)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                log.targets.append(target)
                up_reader, up = await asyncio.open_connection(host.strip("[]"), int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await _splice(reader, writer, up_reader, up)
                return
            head, host, port, length = _origin_form(request_line, headers)
            log.targets.append(f"{host}:{port}")
            up_reader, up = await asyncio.open_connection(host, port)

            async def requests() -> None:
                nonlocal head, length
                try:
                    while True:
                        up.write(head + (await reader.readexactly(length) if length else b""))
                        await up.drain()
                        request_line, headers = _split_head(await reader.readuntil(b"\r\n\r\n"))
                        if not await allowed(headers, writer):
                            return
                        head, next_host, next_port, length = _origin_form(request_line, headers)
                        log.targets.append(f"{next_host}:{next_port}")
                except (asyncio.IncompleteReadError, ConnectionError, OSError):
                    pass
                finally:
                    with contextlib.suppress(OSError, RuntimeError):
                        up.close()

            await asyncio.gather(requests(), _pipe(up_reader, writer))

        return handle

    with _serve(make) as running:
        yield running


async def _socks_target(reader: asyncio.StreamReader, log: ProxyLog) -> tuple[str, int]:
    _, command, _, kind = await reader.readexactly(4)
    if command != 1:
        raise ValueError("only CONNECT")
    if kind == 1:
        host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
    elif kind == 4:
        host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
    elif kind == 3:
        host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        log.domain_targets += 1
    else:
        raise ValueError("bad address type")
    (port,) = struct.unpack("!H", await reader.readexactly(2))
    return host, port


@contextmanager
def socks5_proxy(username: str | None = None, password: str | None = None) -> Iterator[RunningServer]:
    def make(log: ProxyLog) -> Handler:
        async def authenticated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
            version, count = await reader.readexactly(2)
            methods = await reader.readexactly(count)
            if version != 5:
                return False
            if username is None:
                writer.write(b"\x05\x00")
                log.credentials.append(None)
                return True
            if 2 not in methods:
                writer.write(b"\x05\xff")
                log.refused += 1
                log.credentials.append(None)
                return False
            writer.write(b"\x05\x02")
            await reader.readexactly(1)
            name = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            secret = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            log.credentials.append(f"{name}:{secret}")
            if (name, secret) != (username, password):
                log.refused += 1
                writer.write(b"\x01\x01")
                await writer.drain()
                return False
            writer.write(b"\x01\x00")
            return True

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if not await authenticated(reader, writer):
                return
            host, port = await _socks_target(reader, log)
            log.targets.append(f"{host}:{port}")
            try:
                up_reader, up = await asyncio.open_connection(host, port)
            except OSError:
                writer.write(b"\x05\x05\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
                await writer.drain()
                return
            writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
            await writer.drain()
            await _splice(reader, writer, up_reader, up)

        return handle

    with _serve(make) as running:
        yield running


@contextmanager
def canned_responder(status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Iterator[RunningServer]:
    """An HTTP server answering every request with `status` and `headers` (no body)."""

    def make(log: ProxyLog) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request_line, request_headers = _split_head(await reader.readuntil(b"\r\n\r\n"))
            log.targets.append(request_line)
            length = next((int(v) for n, v in request_headers if n.lower() == "content-length"), 0)
            if length:
                await reader.readexactly(length)
            extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
            writer.write(f"HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()

        return handle

    with _serve(make) as running:
        yield running
