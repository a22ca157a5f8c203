"""Model listings in each client dialect's shape: OpenAI and Anthropic `/v1/models`, Gemini
`/v1beta/models`, Ollama `/api/tags`. The same active models, keyed `provider/model`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from services.edge.context import request_id_of
from services.edge.pipeline.authn import authenticate
from services.edge.pipeline.chat import error_response
from services.edge.state import edge_state
from shared import jsonx
from shared.canonical.errors import GatewayError
from shared.formats.base import Dialect
from shared.formats.ollama.inbound import render_tags
from shared.formats.registry import get_dialect

__all__ = ["gemini_models", "list_models", "ollama_tags"]

_EPOCH = "2025-01-01T00:00:00Z"


def _listing(request: Request[Any, Any, Any], dialect: Dialect) -> list[tuple[str, str]] | Response[bytes]:
    state = edge_state(request)
    config = state.holder.current
    try:
        authenticate(request.headers, request.scope["query_string"], config, state.settings.require_api_key)
    except GatewayError as exc:
        return error_response(dialect, exc, request_id_of(request))
    return config.model_ids()


def _json(request: Request[Any, Any, Any], body: object) -> Response[bytes]:
    return Response(
        jsonx.dumps(body), media_type="application/json", headers={"X-OmniRoute-Request-Id": request_id_of(request)}
    )


def _client_dialect(request: Request[Any, Any, Any]) -> str:
    if "anthropic-version" in request.headers:
        return "anthropic"
    if "x-goog-api-key" in request.headers or request.query_params.get("key"):
        return "gemini"
    return "openai_chat"


@get("/v1/models", include_in_schema=False)
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    """OpenAI's list, or Anthropic's (anthropic-version header), or Gemini's (google-genai's v1 calls)."""
    name = _client_dialect(request)
    if name == "gemini":
        return await _gemini(request)
    models = _listing(request, get_dialect(name))
    if isinstance(models, Response):
        return models
    if name == "anthropic":
        entries = [{"type": "model", "id": ident, "display_name": ident, "created_at": _EPOCH} for ident, _ in models]
        first, last = (entries[0]["id"], entries[-1]["id"]) if entries else (None, None)
        return _json(request, {"data": entries, "has_more": False, "first_id": first, "last_id": last})
    created = edge_state(request).holder.current.version
    data: list[dict[str, object]] = [
        {"id": ident, "object": "model", "created": created, "owned_by": owner} for ident, owner in models
    ]
    return _json(request, {"object": "list", "data": data})


async def _gemini(request: Request[Any, Any, Any]) -> Response[bytes]:
    models = _listing(request, get_dialect("gemini"))
    if isinstance(models, Response):
        return models
    methods = ["generateContent", "streamGenerateContent", "countTokens"]
    data = [
        {
            "name": f"models/{ident}",
            "displayName": ident,
            "description": f"{ident} through OmniRoute",
            "supportedGenerationMethods": methods,
        }
        for ident, _ in models
    ]
    return _json(request, {"models": data})


@get("/v1beta/models", include_in_schema=False)
async def gemini_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _gemini(request)


@get("/api/tags", include_in_schema=False)
async def ollama_tags(request: Request[Any, Any, Any]) -> Response[bytes]:
    dialect = get_dialect("ollama")
    models = _listing(request, dialect)
    if isinstance(models, Response):
        return models
    return Response(
        render_tags(models), media_type="application/json", headers={"X-OmniRoute-Request-Id": request_id_of(request)}
    )
