"""Tiny stdlib HTTP helpers for the launcher (no event loop needed)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from shared import jsonx

__all__ = ["HttpAnswer", "get_status", "request_json"]


class HttpAnswer:
    __slots__ = ("body", "cookies", "headers", "status")

    def __init__(self, status: int, body: Any, headers: dict[str, str], cookies: list[str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.cookies = cookies or []  # each Set-Cookie's "name=value" (a dict of headers keeps only one)


def _cookies(headers: Any) -> list[str]:
    return [value.split(";", 1)[0].strip() for value in headers.get_all("Set-Cookie") or []]


def get_status(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> int | None:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback only)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def request_json(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> HttpAnswer:
    data = jsonx.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            raw = response.read()
            body = jsonx.loads(raw) if raw else None
            return HttpAnswer(response.status, body, dict(response.headers), _cookies(response.headers))
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            parsed = jsonx.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return HttpAnswer(exc.code, parsed, dict(exc.headers))
