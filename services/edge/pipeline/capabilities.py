"""Refusing, with a clear 400, what the chosen provider cannot take (never an upstream 500)."""

from __future__ import annotations

from shared.canonical.chat import ChatRequest
from shared.canonical.errors import BadRequest
from shared.routing.config import Target

__all__ = ["check_translatable"]


def check_translatable(request: ChatRequest, target: Target) -> None:
    provider_dialect = target.upstream.dialect
    if request.unsupported and provider_dialect != request.dialect:
        features = ", ".join(request.unsupported)
        raise BadRequest(
            f"{features} cannot be sent to {target.upstream.spec.name}, which speaks a different API; "
            "use a provider of the same API or remove them.",
            code="unsupported_feature",
        )
    if request.has_images() and not target.upstream.takes_images(target.model):
        raise BadRequest(
            f"The model '{target.model}' does not accept images.", code="unsupported_capability", param="messages"
        )
