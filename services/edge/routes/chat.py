"""The chat endpoints of every client dialect; each is a thin call into the shared pipeline."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath
from litestar.response import Stream

from services.edge.pipeline.chat import ChatRoute, handle_chat
from shared.formats.base import RequestContext
from shared.formats.registry import get_dialect

__all__ = ["anthropic_messages", "chat_completions", "ollama_chat", "pinned_chat_completions", "responses"]

_ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")


@post("/v1/chat/completions", status_code=200, include_in_schema=False)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    return await handle_chat(request, ChatRoute(get_dialect("openai_chat"), "chat.completions"))


@post("/v1/providers/{provider:str}/chat/completions", status_code=200, include_in_schema=False)
async def pinned_chat_completions(request: Request[Any, Any, Any], provider: FromPath[str]) -> Response[bytes] | Stream:
    route = ChatRoute(get_dialect("openai_chat"), "chat.completions", pinned_provider=provider.lower())
    return await handle_chat(request, route)


@post("/v1/responses", status_code=200, include_in_schema=False)
async def responses(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    return await handle_chat(request, ChatRoute(get_dialect("openai_responses"), "responses"))


@post("/v1/messages", status_code=200, include_in_schema=False)
async def anthropic_messages(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    headers = {name: request.headers[name] for name in _ANTHROPIC_HEADERS if name in request.headers}
    route = ChatRoute(get_dialect("anthropic"), "messages", RequestContext(headers=headers))
    return await handle_chat(request, route)


@post(["/api/chat", "/v1/api/chat"], status_code=200, include_in_schema=False)
async def ollama_chat(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    return await handle_chat(request, ChatRoute(get_dialect("ollama"), "ollama.chat"))
