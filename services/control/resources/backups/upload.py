"""Receiving an uploaded export: streamed to a private temp file, size-capped as it arrives.

The body is either the raw file (any content type but multipart) or `multipart/form-data` with
the file in the first file part (conventionally named `file`). Nothing from the upload names a
path: the file always lands at the caller's fixed temp path, so the uploaded file name is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import multipart  # type: ignore[import-untyped]  # litestar's own multipart parser
from litestar import Request

from services.control.errors import ApiError

__all__ = ["receive_upload"]


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the upload is larger than {limit} bytes (OMNIROUTE_BACKUP_MAX_BYTES)", "too_large")


def _boundary(content_type: str) -> str | None:
    kind, options = multipart.parse_options_header(content_type)
    if kind.lower() != "multipart/form-data":
        return None
    boundary = options.get("boundary")
    if not boundary:
        raise ApiError(400, "multipart upload without a boundary", "bad_request")
    return str(boundary)


class _Parts:
    """Feeds multipart chunks; writes the first part that carries a file name (or is named `file`)."""

    def __init__(self, boundary: str, target: Any) -> None:
        self._parser = multipart.PushMultipartParser(boundary, max_header_size=4096, max_segment_count=16)
        self._target = target
        self._writing = False
        self.found = False

    def feed(self, chunk: bytes) -> None:
        try:
            for event in self._parser.parse(chunk):
                if isinstance(event, multipart.MultipartSegment):
                    self._writing = not self.found and (event.filename is not None or event.name == "file")
                    self.found = self.found or self._writing
                elif event is None:
                    self._writing = False
                elif self._writing:
                    self._target.write(event)
        except multipart.MultipartError:
            raise ApiError(400, "the multipart body is malformed", "bad_request") from None


async def receive_upload(request: Request[Any, Any, Any], target: Path, limit: int) -> None:
    """Write the uploaded file to `target`; 413 past `limit` bytes of body, 400 for a malformed body."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise _too_large(limit)  # refuse before reading (a little slack for multipart framing)
    boundary = _boundary(request.headers.get("content-type", ""))
    received = 0
    with target.open("wb") as handle:
        parts = _Parts(boundary, handle) if boundary is not None else None
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + (64 * 1024 if parts is not None else 0):
                raise _too_large(limit)
            if parts is not None:
                parts.feed(chunk)
            else:
                handle.write(chunk)
        if parts is not None:
            parts.feed(b"")
            if not parts.found:
                raise ApiError(400, "the multipart body has no file part (send the export as `file`)", "bad_request")
        if handle.tell() > limit:  # multipart framing aside, the file itself must fit
            raise _too_large(limit)
