"""GET /v1/models: every model the active connections serve (OpenAI list shape)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from services.edge.context import request_id_of
from services.edge.errors import error_response
from services.edge.pipeline.authn import authenticate
from services.edge.state import edge_state
from shared import jsonx
from shared.canonical.errors import GatewayError

__all__ = ["list_models"]


@get("/v1/models", include_in_schema=False)
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = edge_state(request)
    config = state.holder.current
    request_id = request_id_of(request)
    try:
        authenticate(request.headers, request.scope["query_string"], config, state.settings.require_api_key)
    except GatewayError as exc:
        return error_response(exc, request_id)
    created = int(config.version)  # stable per snapshot, like OpenAI's fixed creation stamps
    data = [
        {"id": ident, "object": "model", "created": created, "owned_by": owner} for ident, owner in config.model_ids()
    ]
    return Response(
        jsonx.dumps({"object": "list", "data": data}),
        media_type="application/json",
        headers={"X-OmniRoute-Request-Id": request_id},
    )
