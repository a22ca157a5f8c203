"""Gemini's `models/{model}:generateContent` and `:streamGenerateContent`, under /v1beta and /v1.

google-genai calls both prefixes; the model and the method share one path segment, so the route
takes the rest of the path and splits it at the last colon.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath
from litestar.response import Stream

from services.edge.context import request_id_of
from services.edge.pipeline.chat import ChatRoute, error_response, handle_chat
from shared.canonical.errors import NotFound
from shared.formats.base import RequestContext
from shared.formats.registry import get_dialect

__all__ = ["gemini_models_post"]

_METHODS = {"generateContent": False, "streamGenerateContent": True}


@post(["/v1beta/models/{rest:path}", "/v1/models/{rest:path}"], status_code=200, include_in_schema=False)
async def gemini_models_post(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes] | Stream:
    dialect = get_dialect("gemini")
    model, _, method = rest.lstrip("/").rpartition(":")
    if method not in _METHODS or not model:
        error = NotFound(f"Unknown method '{method[:100]}'.", code="unknown_endpoint")
        return error_response(dialect, error, request_id_of(request))
    stream = _METHODS[method]
    context = RequestContext(path_model=model, path_stream=stream)
    endpoint = "gemini.stream_generate" if stream else "gemini.generate"
    array = stream and request.query_params.get("alt") != "sse"  # REST's default stream is a JSON array
    return await handle_chat(request, ChatRoute(dialect, endpoint, context, json_array_stream=array))
